import SnapfleetCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Signs AWS requests with Signature Version 4, in headers (`sign`) or in a presigned URL
/// (`presignedURL`), for one set of credentials, region and service.
///
/// Safe to share across threads; it keeps the current day's signing key.
public final class SigV4Signer: Sendable, CustomStringConvertible {
    /// The region of the credential scope (`us-east-1`).
    public let region: String
    /// The service's signing name (`s3`, `ec2`).
    public let service: String
    /// How this service canonicalizes paths and payloads.
    public let conventions: SigningConventions
    let credentials: AWSCredentials
    private let cachedKey = Mutex<SigningKey?>(nil)

    /// The algorithm name SigV4 writes into headers, query strings and strings to sign.
    static let algorithm = "AWS4-HMAC-SHA256"

    /// Creates a signer; `conventions` defaults to the service's (`SigningConventions.forService`).
    public init(credentials: AWSCredentials, region: String, service: String, conventions: SigningConventions? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.conventions = conventions ?? .forService(service)
    }

    /// Region, service and access key id; never the secret.
    public var description: String {
        "SigV4Signer(region: \(region), service: \(service), accessKeyID: \(credentials.accessKeyID))"
    }

    /// The headers to add to `request` so that it is signed at `date`.
    public func sign(request: SignableRequest, date: Date) throws(SnapfleetError) -> [HeaderField] {
        try signature(for: request, date: date).headers
    }

    /// Signs `request` at `date` and returns the headers to add together with the intermediate steps.
    public func signature(for request: SignableRequest, date: Date) throws(SnapfleetError) -> HeaderSignature {
        let time = AMZDate(date)
        let payloadHash = try payloadHash(of: request.payload)
        let added = addedHeaders(time: time, payloadHash: payloadHash)
        let canonical = try CanonicalRequest(
            method: request.method, path: request.url.path, queryItems: request.url.queryItems,
            headers: headersToSign(request.headers, url: request.url, replacing: added) + added,
            payloadHash: payloadHash, conventions: conventions)
        let signed = try sign(canonical, time: time)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(signed.scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signed.signature)"
        return HeaderSignature(
            canonicalRequest: canonical.text, stringToSign: signed.stringToSign, signature: signed.signature,
            headers: added + [HeaderField("Authorization", authorization)])
    }

    /// `X-Amz-Date`, then the session token and (S3) the payload hash.
    private func addedHeaders(time: AMZDate, payloadHash: String) -> [HeaderField] {
        var added = [HeaderField("X-Amz-Date", time.stamp)]
        // Signed rather than added afterwards (the suite's `post-sts-header-after`): S3 and
        // botocore sign it, and every service accepts that.
        if let token = credentials.sessionToken { added.append(HeaderField("X-Amz-Security-Token", token.value)) }
        if conventions.usesS3Payload { added.append(HeaderField("x-amz-content-sha256", payloadHash)) }
        return added
    }

    /// The caller's headers without `Authorization` or any header the signer sets itself, plus
    /// `Host` from the URL unless the caller gave one.
    func headersToSign(_ headers: [HeaderField], url: RequestURL, replacing added: [HeaderField]) -> [HeaderField] {
        let replaced = Set(["authorization"] + added.map { $0.name.lowercased() })
        var kept = headers.filter { !replaced.contains($0.name.lowercased()) }
        if !kept.contains(where: { $0.name.lowercased() == "host" }) {
            kept.insert(HeaderField("Host", url.hostHeader), at: 0)
        }
        return kept
    }

    /// The payload hash line: a SHA-256 in hex, or `UNSIGNED-PAYLOAD` where S3 allows it.
    private func payloadHash(of payload: RequestPayload) throws(SnapfleetError) -> String {
        switch payload {
        case .bytes(let bytes):
            return try Hashing.sha256Hex(bytes)
        case .sha256(let hex):
            guard hex.utf8.count == 64, hex.utf8.allSatisfy({ URIEncoding.hexValue($0) != nil }), hex == hex.lowercased() else {
                throw SnapfleetError(.internalError, "payload sha-256 must be 64 lowercase hex digits")
            }
            return hex
        case .unsigned:
            guard conventions.usesS3Payload else {
                throw SnapfleetError(.internalError, "service \(service) does not accept an unsigned payload")
            }
            return RequestPayload.unsignedLiteral
        }
    }

    /// The string to sign of a canonical request and its signature with the day's key.
    func sign(_ canonical: CanonicalRequest, time: AMZDate) throws(SnapfleetError) -> (
        stringToSign: String, signature: String, scope: String
    ) {
        let key = try signingKey(day: time.day)
        let stringToSign = [Self.algorithm, time.stamp, key.scope, try Hashing.sha256Hex(canonical.text.utf8)]
            .joined(separator: "\n")
        return (stringToSign, try key.signature(of: stringToSign), key.scope)
    }

    /// The signing key of `day`, derived once per day and kept.
    func signingKey(day: String) throws(SnapfleetError) -> SigningKey {
        if let cached = cachedKey.withLock({ $0 }), cached.day == day { return cached }
        let key = try SigningKey(secretAccessKey: credentials.secretAccessKey, day: day, region: region, service: service)
        cachedKey.withLock { $0 = key }
        return key
    }
}
