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

/// An object store in one Azure Blob Storage container, through the Blob service REST API
/// (version 2026-10-06) with Shared Key or Entra ID bearer authorization.
///
/// Bodies up to `singlePutThreshold` go up with one Put Blob, larger ones as blocks (Put Block,
/// then Put Block List); `ifAbsent` sends `If-None-Match: *`, which the service refuses with 409
/// BlobAlreadyExists. 5xx, 429, 408 and connection errors are retried with backoff, other 4xx
/// never. Safe to use from several threads at once.
public struct AzureBlobObjectStore: ObjectStore {
    /// The `x-ms-version` of every request.
    public static let apiVersion = "2026-10-06"

    /// The storage account.
    public let account: String
    /// The container.
    public let container: String
    /// `https://ACCOUNT.blob.core.windows.net`, or an injected path-style base such as
    /// `http://127.0.0.1:PORT/ACCOUNT` (the emulator's and the stand-in's addressing).
    public let endpoint: String
    /// How requests are authorized (and SASs signed).
    public let credential: AzureBlobCredential
    /// Bodies larger than this go up as blocks (default 64 MiB, the SDK's single-put limit).
    public let singlePutThreshold: Int64
    /// The size of each block but the last (default 8 MiB).
    public let blockSize: Int64
    /// When to retry.
    public let retry: RetryPolicy
    /// Where user delegation keys are kept between stores (token credentials only).
    public let delegationKeys: AzureDelegationKeyCache
    /// `scheme://host[:port]` of the endpoint.
    let origin: String
    /// The endpoint's own path (`/ACCOUNT` path-style, else empty): part of every signed path.
    let basePath: String
    let signer: AzureSharedKeySigner?
    let authorizer: BearerAuthorizer?
    let transport: any HTTPTransport

    /// A store for `container` of `account`; `endpoint` defaults to the account's public blob endpoint.
    public init(
        account: String, container: String, endpoint: String? = nil, credential: AzureBlobCredential, singlePutThreshold: Int64 = 64 << 20,
        blockSize: Int64 = 8 << 20, retry: RetryPolicy = RetryPolicy(), delegationKeys: AzureDelegationKeyCache = .shared,
        transport: (any HTTPTransport)? = nil
    ) throws(SnapfleetError) {
        guard account.wholeMatch(of: /[a-z0-9]{3,24}/) != nil else {
            throw SnapfleetError(.invalidConfiguration, "invalid azure storage account name '\(ObjectKey.printable(account))'")
        }
        guard container.wholeMatch(of: /[a-z0-9](-?[a-z0-9]){2,62}/) != nil else {
            throw SnapfleetError(.invalidConfiguration, "invalid azure container name '\(ObjectKey.printable(container))'")
        }
        if case .sharedKey(let key) = credential, key.account != account {
            throw SnapfleetError(.invalidConfiguration, "the shared key is for storage account \(key.account), not \(account)")
        }
        var base = endpoint ?? "https://\(account).blob.core.windows.net"
        while base.hasSuffix("/") { base.removeLast() }
        guard let schemeEnd = base.firstRange(of: "://"), base.hasPrefix("https://") || base.hasPrefix("http://") else {
            throw SnapfleetError(.invalidConfiguration, "invalid azure blob endpoint '\(ObjectKey.printable(base))'")
        }
        let afterScheme = base[schemeEnd.upperBound...]
        let host = afterScheme.prefix { $0 != "/" }
        guard !host.isEmpty else { throw SnapfleetError(.invalidConfiguration, "invalid azure blob endpoint '\(ObjectKey.printable(base))'") }
        self.account = account
        self.container = container
        self.endpoint = base
        self.credential = credential
        self.singlePutThreshold = singlePutThreshold
        self.blockSize = max(1 << 20, blockSize)
        self.retry = retry
        self.delegationKeys = delegationKeys
        origin = String(base[..<host.endIndex])
        basePath = String(afterScheme.dropFirst(host.count))
        switch credential {
        case .sharedKey(let key):
            signer = AzureSharedKeySigner(key: key)
            authorizer = nil
        case .tokens(let tokens):
            signer = nil
            authorizer = BearerAuthorizer(tokens: tokens)
        }
        self.transport = transport ?? CurlTransport()
    }

    /// Put Blob, or blocks above the threshold; `ifAbsent` adds `If-None-Match: *`.
    public func put(_ key: String, body: ObjectBody, ifAbsent: Bool) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        let size = try S3ObjectStore.size(of: body)
        if size > singlePutThreshold { return try blockUpload(key, body: body, size: size, ifAbsent: ifAbsent) }
        let httpBody: HTTPRequest.Body
        let md5: Digest
        switch body {
        case .bytes(let bytes):
            httpBody = .bytes(bytes)
            md5 = try Self.md5(bytes)
        case .file(let path):
            httpBody = .file(path: path)
            md5 = try MD5.hash(file: path)
        }
        // Content-MD5 has the service check the bytes, and becomes the blob's stored MD5.
        var headers = [
            ("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/octet-stream"), ("Content-MD5", Self.base64(md5.bytes)),
        ]
        if ifAbsent { headers.append(("If-None-Match", "*")) }
        let call = AzureBlobCall(verb: "put", key: key, method: .put, path: blobPath(key), headers: headers, body: httpBody, bodyLength: size)
        try check(try send(call), call, ifAbsent: ifAbsent)
    }

    /// Get Blob into memory.
    public func get(_ key: String) throws(SnapfleetError) -> [UInt8] {
        try ObjectKey.validate(key)
        let call = AzureBlobCall(verb: "get", key: key, method: .get, path: blobPath(key))
        let response = try send(call)
        try check(response, call)
        return response.body
    }

    /// Get Blob into a temporary file next to `path`, renamed into place when complete.
    public func download(_ key: String, to path: String) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        try downloadAtomically(to: path) { temporary throws(SnapfleetError) in
            var call = AzureBlobCall(verb: "get", key: key, method: .get, path: blobPath(key))
            call.responseFile = temporary
            try check(try send(call), call)
        }
    }

    /// Get Blob Properties: nil on 404.
    public func head(_ key: String) throws(SnapfleetError) -> ObjectInfo? {
        try ObjectKey.validate(key)
        let call = AzureBlobCall(verb: "head", key: key, method: .head, path: blobPath(key))
        let response = try send(call)
        if response.status == 404 && AzureBlobErrorReply(response).code != "ContainerNotFound" { return nil }
        try check(response, call)
        return ObjectInfo(
            key: key, size: Int64(response.headers["Content-Length"] ?? "") ?? 0, etag: response.headers["ETag"].map(S3Dates.unquoted),
            lastModified: response.headers["Last-Modified"].flatMap(S3Dates.httpDate))
    }

    /// Every page of the listing.
    public func list(prefix: String, delimiter: String?) throws(SnapfleetError) -> ObjectListing {
        try allPages(prefix: prefix, delimiter: delimiter)
    }

    /// List Blobs page by page (up to 5,000 entries a page), following `NextMarker`.
    public func forEachPage(prefix: String, delimiter: String?, _ body: (ObjectListing) throws(SnapfleetError) -> Bool) throws(SnapfleetError) {
        var marker: String?
        repeat {
            var query = [("restype", "container"), ("comp", "list"), ("prefix", prefix), ("maxresults", "5000")]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let marker { query.append(("marker", marker)) }
            let call = AzureBlobCall(verb: "list", key: nil, method: .get, path: containerPath, query: query, listPrefix: prefix)
            let response = try send(call)
            try check(response, call)
            let page = try AzureBlobListPage(xml: response.body)
            // Blobs and prefixes come interleaved in name order; each list is sorted on its own.
            guard try body(ObjectListing(objects: page.objects, commonPrefixes: page.commonPrefixes)) else { return }
            marker = page.nextMarker
        } while marker != nil
    }

    /// Delete Blob; a blob that is not there is success.
    public func delete(_ key: String) throws(SnapfleetError) {
        try ObjectKey.validate(key)
        let call = AzureBlobCall(verb: "delete", key: key, method: .delete, path: blobPath(key))
        let response = try send(call)
        if response.status == 404 && AzureBlobErrorReply(response).code == "BlobNotFound" { return }
        try check(response, call)
    }

    // MARK: - Paths

    /// The container's path as sent (`/CONTAINER`, after the endpoint's own path).
    var containerPath: String { basePath + "/" + container }

    /// A blob's path as sent: the key percent-encoded, its slashes kept.
    func blobPath(_ key: String) -> String { containerPath + "/" + URIEncoding.encode(key, keepingSlashes: true) }

    /// The MD5 of bytes in memory.
    static func md5(_ bytes: [UInt8]) throws(SnapfleetError) -> Digest {
        do { return try MD5.hash(bytes) } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
    }

    /// Standard base64, as Azure spells MD5s and block ids.
    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
