import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension AzureBlobObjectStore: PresigningObjectStore {
    /// `If-None-Match: *` (the service refuses with 409 BlobAlreadyExists when the blob exists) and
    /// `x-ms-blob-type: BlockBlob` (Put Blob requires it).
    public var createOnlyHeaders: [(String, String)] { [("If-None-Match", "*"), ("x-ms-blob-type", "BlockBlob")] }

    /// The longest a URL may last: seven days (a user delegation key's limit, kept for both kinds).
    public static let maxExpires = 604_800

    /// A SAS URL for `key`: a service SAS signed with the account key, or a user delegation SAS
    /// when the store has Entra ID tokens. A SAS signs no headers: the agent must still send
    /// `headers`, and a PUT URL asked for with `If-None-Match: *` gets `sp=c`, with which the
    /// service refuses to replace an existing blob even if the header is left out.
    public func presignedURL(key: String, method: String, headers: [(String, String)], expires: Int, date: Date) throws(SnapfleetError)
        -> String
    {
        try ObjectKey.validate(key)
        guard (1...Self.maxExpires).contains(expires) else {
            throw SnapfleetError(.invalidBody, "an azure sas url lasts 1 to \(Self.maxExpires) seconds here, not \(expires)")
        }
        let createOnly = headers.contains { $0.0.lowercased() == "if-none-match" && $0.1 == "*" }
        let expiry = date.addingTimeInterval(TimeInterval(expires))
        // Microsoft advises a start 15 minutes back: a SAS starting "now" is refused by a service
        // whose clock is a little behind.
        let sas = AzureBlobSAS(
            account: account, container: container, blob: key, permissions: try AzureBlobSAS.permissions(method: method, createOnly: createOnly),
            start: Timestamp.rfc3339(date.addingTimeInterval(-900)), expiry: Timestamp.rfc3339(expiry),
            // spr=https alone would make the service refuse the URL over plain http (the stand-in, an emulator).
            protocols: origin.hasPrefix("http://") ? "https,http" : "https")
        let query: String
        switch credential {
        case .sharedKey(let sharedKey): query = try sas.query(sharedKey: sharedKey)
        case .tokens: query = try sas.query(delegation: try delegationKey(covering: expiry))
        }
        return origin + blobPath(key) + "?" + query
    }

    /// A user delegation key that lasts beyond `expiry`: the cached one, else one from Get User
    /// Delegation Key (a day long, or longer for a longer SAS, within the service's seven days).
    func delegationKey(covering expiry: Date) throws(SnapfleetError) -> AzureUserDelegationKey {
        let now = Date()
        guard expiry.timeIntervalSince(now) <= 7 * 86_400 - 600 else {
            throw SnapfleetError(.invalidBody, "a user delegation sas cannot last beyond seven days from now")
        }
        return try delegationKeys.key(for: endpoint, covering: expiry) { () throws(SnapfleetError) in
            let end = min(now.addingTimeInterval(7 * 86_400 - 300), max(now.addingTimeInterval(86_400), expiry.addingTimeInterval(300)))
            let body = Array(
                (#"<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>"# + Timestamp.rfc3339(now.addingTimeInterval(-900))
                    + "</Start><Expiry>\(Timestamp.rfc3339(end))</Expiry></KeyInfo>").utf8)
            let call = AzureBlobCall(
                verb: "get user delegation key", key: nil, method: .post, path: basePath + "/",
                query: [("restype", "service"), ("comp", "userdelegationkey")], headers: [("Content-Type", "application/xml")],
                body: .bytes(body), bodyLength: Int64(body.count))
            let response = try send(call)
            try check(response, call)
            return try AzureUserDelegationKey(xml: response.body)
        }
    }
}
