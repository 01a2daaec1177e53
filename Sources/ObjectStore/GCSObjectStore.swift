import AWSSigning
import CloudCredentials
import Digests
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An object store in one Google Cloud Storage bucket, through the JSON API with OAuth 2.0 tokens.
///
/// Uploads up to `resumableThreshold` are single media uploads, larger ones resumable uploads in
/// chunks; `ifAbsent` is the `ifGenerationMatch=0` precondition. 5xx, 429 and connection errors
/// are retried with backoff, other 4xx never. Safe to use from several threads at once.
public struct GCSObjectStore: ObjectStore {
    /// The bucket.
    public let bucket: String
    /// `https://storage.googleapis.com`, or the injected one (tests).
    public let endpoint: String
    /// Bodies larger than this go up as resumable uploads (default 16 MiB).
    public let resumableThreshold: Int64
    /// The size of each resumable chunk but the last (a multiple of 256 KiB, as GCS requires).
    public let chunkSize: Int64
    /// When to retry.
    public let retry: RetryPolicy
    /// Signs V4 URLs for agents, when the store has a service-account key.
    public let signer: GCSURLSigner?
    let authorizer: BearerAuthorizer
    let transport: any HTTPTransport

    /// A store for `bucket`; `signer` is needed only for `signedURL`.
    public init(
        bucket: String, endpoint: String? = nil, tokens: any AccessTokenSource, signer: GCSURLSigner? = nil,
        resumableThreshold: Int64 = 16 << 20, chunkSize: Int64 = 8 << 20, retry: RetryPolicy = RetryPolicy(),
        transport: (any HTTPTransport)? = nil
    ) throws(SnapfleetError) {
        guard Self.isValidBucketName(bucket) else {
            throw SnapfleetError(.invalidConfiguration, "invalid gcs bucket name '\(ObjectKey.printable(bucket))'")
        }
        self.bucket = bucket
        let base = endpoint ?? "https://storage.googleapis.com"
        self.endpoint = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.resumableThreshold = resumableThreshold
        self.chunkSize = max(256 << 10, chunkSize / (256 << 10) * (256 << 10))
        self.retry = retry
        self.signer = signer
        authorizer = BearerAuthorizer(tokens: tokens)
        self.transport = transport ?? CurlTransport()
    }

    /// Bucket names: 3–222 characters of lowercase letters, digits, `-`, `_` and `.`.
    static func isValidBucketName(_ name: String) -> Bool {
        (3...222).contains(name.utf8.count)
            && name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e }
    }

    /// A media upload, or a resumable one above the threshold; `ifAbsent` adds `ifGenerationMatch=0`.
    public func put(_ key: String, body: ObjectBody, ifAbsent: Bool) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        let size = try S3ObjectStore.size(of: body)
        if size > resumableThreshold { return try resumableUpload(key, body: body, size: size, ifAbsent: ifAbsent) }
        let httpBody: HTTPRequest.Body =
            switch body {
            case .bytes(let bytes): .bytes(bytes)
            case .file(let path): .file(path: path)
            }
        var query = [("uploadType", "media"), ("name", key)]
        if ifAbsent { query.append(("ifGenerationMatch", "0")) }
        let call = GCSCall(
            verb: "put", key: key, method: .post, url: uploadURL(query), headers: [("Content-Type", "application/octet-stream")],
            body: httpBody)
        try check(try send(call), call, ifAbsent: ifAbsent)
    }

    /// The object's bytes.
    public func get(_ key: String) throws(SnapfleetError) -> [UInt8] {
        try ObjectKey.validate(key)
        let call = GCSCall(verb: "get", key: key, method: .get, url: objectURL(key, query: [("alt", "media")]))
        let response = try send(call)
        try check(response, call)
        return response.body
    }

    /// The object written to `path` (through a temporary file renamed into place).
    public func download(_ key: String, to path: String) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        try downloadAtomically(to: path) { temporary throws(SnapfleetError) in
            var call = GCSCall(verb: "get", key: key, method: .get, url: objectURL(key, query: [("alt", "media")]))
            call.responseFile = temporary
            try check(try send(call), call)
        }
    }

    /// The object's metadata: nil on 404.
    public func head(_ key: String) throws(SnapfleetError) -> ObjectInfo? {
        try ObjectKey.validate(key)
        let call = GCSCall(verb: "head", key: key, method: .get, url: objectURL(key, query: []))
        let response = try send(call)
        if response.status == 404 { return nil }
        try check(response, call)
        return try GCSJSON.decode(GCSJSON.Object.self, response.body, what: "gcs object \(key)").info
    }

    /// Every page of the listing.
    public func list(prefix: String, delimiter: String?) throws(SnapfleetError) -> ObjectListing {
        try allPages(prefix: prefix, delimiter: delimiter)
    }

    /// `objects.list` page by page (up to 1,000 items a page), following `nextPageToken`.
    public func forEachPage(prefix: String, delimiter: String?, _ body: (ObjectListing) throws(SnapfleetError) -> Bool) throws(SnapfleetError) {
        var token: String?
        repeat {
            var query = [("prefix", prefix), ("maxResults", "1000")]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let token { query.append(("pageToken", token)) }
            let call = GCSCall(verb: "list", key: nil, method: .get, url: "\(endpoint)/storage/v1/b/\(bucket)/o" + Self.queryString(query))
            let response = try send(call)
            try check(response, call, listPrefix: prefix)
            let page = try GCSJSON.decode(GCSJSON.ListPage.self, response.body, what: "gcs listing of \(prefix)")
            // GCS sorts by name already; prefixes come in their own array.
            let listing = ObjectListing(objects: (page.items ?? []).map(\.info), commonPrefixes: (page.prefixes ?? []).sorted())
            guard try body(listing) else { return }
            token = page.nextPageToken.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
    }

    /// Deletes the object; a missing one is success.
    public func delete(_ key: String) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        let call = GCSCall(verb: "delete", key: key, method: .delete, url: objectURL(key, query: []))
        let response = try send(call)
        if response.status == 404 { return }
        try check(response, call)
    }

    // MARK: - URLs

    /// `…/storage/v1/b/BUCKET/o/KEY` with the key as one path segment (its slashes encoded).
    func objectURL(_ key: String, query: [(String, String)]) -> String {
        "\(endpoint)/storage/v1/b/\(bucket)/o/\(URIEncoding.encode(key))" + Self.queryString(query)
    }

    /// `…/upload/storage/v1/b/BUCKET/o?…`.
    func uploadURL(_ query: [(String, String)]) -> String {
        "\(endpoint)/upload/storage/v1/b/\(bucket)/o" + Self.queryString(query)
    }

    /// `?a=b&c=d`, RFC 3986-encoded; empty for no items.
    static func queryString(_ items: [(String, String)]) -> String {
        items.isEmpty ? "" : "?" + items.map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }.joined(separator: "&")
    }
}
