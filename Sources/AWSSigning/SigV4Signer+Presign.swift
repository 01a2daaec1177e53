import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SigV4Signer {
    /// The longest validity AWS accepts for a presigned URL: seven days.
    public static let maximumExpiry = 604_800

    /// A URL that performs `method` on `url` without credentials until `expires` seconds after
    /// `date`; the client must send exactly `headers` (e.g. `If-None-Match: *`), which are signed.
    public func presignedURL(
        method: String, url: RequestURL, headers: [HeaderField] = [], expires: Int, date: Date
    ) throws(SnapfleetError) -> String {
        try presign(method: method, url: url, headers: headers, expires: expires, date: date).url
    }

    /// Presigns like `presignedURL` and also returns the intermediate steps.
    public func presign(
        method: String, url: RequestURL, headers: [HeaderField] = [], expires: Int, date: Date
    ) throws(SnapfleetError) -> PresignedRequest {
        guard (1...Self.maximumExpiry).contains(expires) else {
            throw SnapfleetError(.internalError, "presigned url expiry must be 1…\(Self.maximumExpiry) seconds, got \(expires)")
        }
        let time = AMZDate(date)
        let signedHeaders = headersToSign(headers, url: url, replacing: [])
        let query = try authorizationQuery(url: url, headers: signedHeaders, time: time, expires: expires)
        // S3 cannot know the body of a presigned request; other services sign an empty one.
        let payloadHash = conventions.usesS3Payload ? RequestPayload.unsignedLiteral : try Hashing.sha256Hex([UInt8]())
        let canonical = try CanonicalRequest(
            method: method, path: url.path, queryItems: query, headers: signedHeaders, payloadHash: payloadHash,
            conventions: conventions)
        let signed = try sign(canonical, time: time)
        let printable = url.origin + url.path
        return PresignedRequest(
            canonicalRequest: canonical.text, stringToSign: signed.stringToSign, signature: signed.signature,
            url: "\(printable)?\(CanonicalRequest.canonicalQuery(query))&X-Amz-Signature=\(signed.signature)",
            printableURL: printable)
    }

    /// The URL's own parameters plus the `X-Amz-*` authorization parameters (all but the signature).
    private func authorizationQuery(
        url: RequestURL, headers: [HeaderField], time: AMZDate, expires: Int
    ) throws(SnapfleetError) -> [QueryItem] {
        let key = try signingKey(day: time.day)
        var authorization = [
            QueryItem(name: "X-Amz-Algorithm", value: Self.algorithm),
            QueryItem(name: "X-Amz-Credential", value: "\(credentials.accessKeyID)/\(key.scope)"),
            QueryItem(name: "X-Amz-Date", value: time.stamp),
            QueryItem(name: "X-Amz-Expires", value: String(expires)),
            QueryItem(name: "X-Amz-SignedHeaders", value: CanonicalRequest.signedHeaderNames(headers)),
        ]
        if let token = credentials.sessionToken {
            authorization.append(QueryItem(name: "X-Amz-Security-Token", value: token.value))
        }
        // Presigning an already presigned URL replaces its authorization instead of doubling it.
        let replaced = Set(authorization.map(\.name) + ["X-Amz-Signature"])
        return url.queryItems.filter { !replaced.contains($0.name) } + authorization
    }
}
