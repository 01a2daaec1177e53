import AWSSigning
import Digests
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An object store in one S3 bucket (AWS or an S3-compatible endpoint), signed with SigV4.
///
/// Every request is signed afresh on each attempt; 5xx, 429, throttling and connection errors
/// are retried with backoff, other 4xx never. Safe to use from several threads at once.
public struct S3ObjectStore: ObjectStore {
    /// Tuning that rarely changes.
    public struct Options: Sendable {
        /// Bodies larger than this go up in parts; default 100 MiB.
        public var multipartThreshold: Int64
        /// The size of each part but the last (at least 5 MiB, S3's minimum); default 16 MiB.
        public var partSize: Int64
        /// When to retry.
        public var retry: RetryPolicy

        /// Creates options; every part has a default.
        public init(multipartThreshold: Int64 = 100 << 20, partSize: Int64 = 16 << 20, retry: RetryPolicy = RetryPolicy()) {
            self.multipartThreshold = multipartThreshold
            self.partSize = max(partSize, 5 << 20)
            self.retry = retry
        }
    }

    /// The bucket.
    public let bucket: String
    /// The bucket's region (the signing scope).
    public let region: String
    /// The tuning in use.
    public let options: Options
    let addressing: S3Addressing
    let signer: SigV4Signer
    let transport: any HTTPTransport

    /// A store for `bucket`; `endpoint` (`http://127.0.0.1:5000`) selects path-style addressing,
    /// nil the AWS virtual-hosted endpoint. `transport` defaults to libcurl.
    public init(
        bucket: String, region: String, endpoint: String? = nil, credentials: AWSCredentials,
        options: Options = Options(), transport: (any HTTPTransport)? = nil
    ) throws(SnapfleetError) {
        guard !bucket.isEmpty, !bucket.contains("/") else {
            throw SnapfleetError(.invalidConfiguration, "invalid s3 bucket name '\(ObjectKey.printable(bucket))'")
        }
        self.bucket = bucket
        self.region = region
        self.options = options
        addressing = try S3Addressing(bucket: bucket, region: region, endpoint: endpoint)
        signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        self.transport = transport ?? CurlTransport()
    }

    /// PUT (or a multipart upload above the threshold); `ifAbsent` sends `If-None-Match: *`.
    public func put(_ key: String, body: ObjectBody, ifAbsent: Bool) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        let size = try Self.size(of: body)
        if size > options.multipartThreshold {
            try multipartUpload(key, body: body, size: size, ifAbsent: ifAbsent)
            return
        }
        let (payload, httpBody) = try Self.payload(of: body)
        let call = S3Call(
            verb: "put", key: key, method: .put, headers: Self.putHeaders(ifAbsent: ifAbsent), payload: payload, body: httpBody)
        let response = try send(call)
        try check(response, call, ifAbsent: ifAbsent)
    }

    /// GET into memory.
    public func get(_ key: String) throws(SnapfleetError) -> [UInt8] {
        try ObjectKey.validate(key)
        let call = S3Call(verb: "get", key: key, method: .get)
        let response = try send(call)
        try check(response, call)
        return response.body
    }

    /// GET into a temporary file next to `path`, renamed into place when complete.
    public func download(_ key: String, to path: String) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        try downloadAtomically(to: path) { temporary throws(SnapfleetError) in
            var call = S3Call(verb: "get", key: key, method: .get)
            call.responseFile = temporary
            try check(try send(call), call)
        }
    }

    /// HEAD: nil on 404.
    public func head(_ key: String) throws(SnapfleetError) -> ObjectInfo? {
        try ObjectKey.validate(key)
        let call = S3Call(verb: "head", key: key, method: .head)
        let response = try send(call)
        if response.status == 404 { return nil }
        try check(response, call)
        return ObjectInfo(
            key: key, size: Int64(response.headers["Content-Length"] ?? "") ?? 0,
            etag: response.headers["ETag"].map(S3Dates.unquoted),
            lastModified: response.headers["Last-Modified"].flatMap(S3Dates.httpDate))
    }

    /// ListObjectsV2, following continuation tokens until the last page.
    public func list(prefix: String, delimiter: String?) throws(SnapfleetError) -> ObjectListing {
        try allPages(prefix: prefix, delimiter: delimiter)
    }

    /// ListObjectsV2 page by page.
    public func forEachPage(prefix: String, delimiter: String?, _ body: (ObjectListing) throws(SnapfleetError) -> Bool) throws(SnapfleetError) {
        var token: String?
        repeat {
            let page = try listPage(prefix: prefix, delimiter: delimiter, token: token)
            guard try body(ObjectListing(objects: page.objects, commonPrefixes: page.commonPrefixes)) else { return }
            token = page.nextToken
        } while token != nil
    }

    /// DELETE; S3 answers 204 whether or not the key existed, and a NoSuchKey is success too.
    public func delete(_ key: String) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        let call = S3Call(verb: "delete", key: key, method: .delete)
        let response = try send(call)
        if !response.isSuccess && S3ErrorResponse(response).isMissingKey { return }
        try check(response, call)
    }

    /// One ListObjectsV2 request.
    private func listPage(prefix: String, delimiter: String?, token: String?) throws(SnapfleetError) -> S3ListPage {
        var query = [QueryItem(name: "list-type", value: "2"), QueryItem(name: "prefix", value: prefix)]
        if let delimiter { query.append(QueryItem(name: "delimiter", value: delimiter)) }
        if let token { query.append(QueryItem(name: "continuation-token", value: token)) }
        let call = S3Call(verb: "list", key: nil, method: .get, query: query, listPrefix: prefix)
        let response = try send(call)
        try check(response, call)
        return try S3ListPage(xml: response.body)
    }

    /// `Content-Type`, plus `If-None-Match: *` when the key must not be overwritten.
    static func putHeaders(ifAbsent: Bool) -> [HeaderField] {
        // moto (like some S3-compatible stores) stores form-encoded bodies as 0 bytes.
        var headers = [HeaderField("Content-Type", "application/octet-stream")]
        if ifAbsent { headers.append(HeaderField("If-None-Match", "*")) }
        return headers
    }

    /// The signed payload hash and the body curl sends; files are hashed by streaming.
    static func payload(of body: ObjectBody) throws(SnapfleetError) -> (RequestPayload, HTTPRequest.Body) {
        switch body {
        case .bytes(let bytes): return (.bytes(bytes), .bytes(bytes))
        case .file(let path): return (.sha256(try SHA256.hash(file: path).hex), .file(path: path))
        }
    }

    /// The body's length in bytes.
    static func size(of body: ObjectBody) throws(SnapfleetError) -> Int64 {
        switch body {
        case .bytes(let bytes): return Int64(bytes.count)
        case .file(let path):
            guard let info = try PosixFiles.status(path), PosixFiles.isRegularFile(info) else {
                throw SnapfleetError(.notFound, "file to upload \(path) does not exist or is not a regular file")
            }
            return Int64(info.st_size)
        }
    }
}
