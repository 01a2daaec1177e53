import CloudCredentials
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One Cloud Storage JSON API request as the store describes it, before its token is added.
struct GCSCall: Sendable {
    /// `put`, `get`, … for messages.
    var verb: String
    /// The object key, or nil for a listing.
    var key: String?
    /// The method.
    var method: HTTPMethod
    /// The full URL.
    var url: String
    /// Headers besides `Authorization`.
    var headers: [(String, String)] = []
    /// The body.
    var body: HTTPRequest.Body = .empty
    /// Where a 2xx body goes, when not into memory.
    var responseFile: String?
}

extension GCSObjectStore {
    /// Sends `call` with a token, retrying 429, 5xx and connection failures per `retry`; returns the
    /// last response whatever its status.
    func send(_ call: GCSCall) throws(SnapfleetError) -> HTTPResponse {
        var attempt = 1
        while true {
            do throws(SnapfleetError) {
                let response = try authorizer.perform { authorization throws(SnapfleetError) in
                    try transport.perform(request(call, authorization: authorization))
                }
                guard Self.isRetryable(response.status), attempt < retry.maxAttempts else { return response }
            } catch {
                guard error.retryable, attempt < retry.maxAttempts else { throw failure(call, error) }
            }
            retry.sleep(retry.delay(afterAttempt: attempt))
            attempt += 1
        }
    }

    /// The HTTP request for `call`.
    func request(_ call: GCSCall, authorization: String) -> HTTPRequest {
        var headers = HTTPHeaders(call.headers)
        headers.append(name: "Authorization", value: authorization)
        // S3's limits: an hour for one transfer, up to 1 GiB in memory (larger reads go to a file).
        return HTTPRequest(
            method: call.method, url: call.url, headers: headers, body: call.body,
            responseBody: call.responseFile.map { .file(path: $0) } ?? .memory, timeout: .seconds(3600), maxResponseBytes: 1 << 30)
    }

    /// 408, 429 and 5xx: Google's documented retryable statuses.
    static func isRetryable(_ status: Int) -> Bool { status == 408 || status == 429 || status >= 500 }

    /// Throws what a non-2xx answer means; `ifAbsent` turns 412 into `.alreadyExists`.
    func check(_ response: HTTPResponse, _ call: GCSCall, ifAbsent: Bool = false, listPrefix: String? = nil) throws(SnapfleetError) {
        guard !response.isSuccess else { return }
        let reply = GoogleErrorReply(response)
        let subject = "gcs \(call.verb) gs://\(bucket)/\(ObjectKey.printable(call.key ?? (listPrefix.map { $0 + "*" } ?? "")))"
        switch response.status {
        case 412 where ifAbsent:
            throw SnapfleetError(.alreadyExists, "\(subject) refused: the object already exists (\(reply.summary))")
        case 404 where call.key == nil || reply.message.lowercased().contains("bucket"):
            throw SnapfleetError(
                .notFound, "\(subject) failed: bucket \(bucket) does not exist (\(reply.summary))",
                hint: "create the bucket or fix the destination url")
        case 404:
            throw SnapfleetError(.notFound, "\(subject) failed: no such object (\(reply.summary))")
        case 401, 403:
            throw SnapfleetError(
                .httpError, "\(subject) failed: \(reply.summary)",
                hint: "check that the service account may use the bucket (roles/storage.objectAdmin)")
        default:
            throw SnapfleetError(.httpError, "\(subject) failed: \(reply.summary)", retryable: Self.isRetryable(response.status))
        }
    }

    /// A transport failure named after the call.
    func failure(_ call: GCSCall, _ error: SnapfleetError) -> SnapfleetError {
        SnapfleetError(
            error.code, "gcs \(call.verb) gs://\(bucket)/\(ObjectKey.printable(call.key ?? "")) failed: \(error.message)", retryable: error.retryable)
    }

    // MARK: - Resumable uploads

    /// A resumable upload: the session is opened, then chunks are sent; after a failed chunk the
    /// session is asked how much it holds and the upload goes on from there.
    func resumableUpload(_ key: String, body: ObjectBody, size: Int64, ifAbsent: Bool) throws(SnapfleetError) {
        var query = [("uploadType", "resumable"), ("name", key)]
        if ifAbsent { query.append(("ifGenerationMatch", "0")) }
        let open = GCSCall(
            verb: "put", key: key, method: .post, url: uploadURL(query),
            headers: [
                ("X-Upload-Content-Type", "application/octet-stream"), ("X-Upload-Content-Length", String(size)),
                ("Content-Type", "application/json"),
            ],
            body: .bytes(Array("{}".utf8)))
        let opened = try send(open)
        try check(opened, open, ifAbsent: ifAbsent)
        guard let session = opened.headers["Location"], session.hasPrefix("http") else {
            throw SnapfleetError(.httpError, "gcs put gs://\(bucket)/\(ObjectKey.printable(key)): no resumable session in the answer")
        }
        var offset: Int64 = 0
        var failures = 0
        while offset < size {
            let count = min(chunkSize, size - offset)
            let chunk = try Self.chunk(of: body, offset: offset, count: Int(count))
            let put = GCSCall(
                verb: "put", key: key, method: .put, url: session,
                headers: [("Content-Range", "bytes \(offset)-\(offset + count - 1)/\(size)")], body: .bytes(chunk))
            let response: HTTPResponse
            do { response = try transport.perform(request(put, authorization: try authorizer.tokens.token().authorization)) } catch {
                failures += 1
                guard error.retryable, failures < retry.maxAttempts else { throw failure(put, error) }
                retry.sleep(retry.delay(afterAttempt: failures))
                offset = try persisted(session: session, key: key, size: size, ifAbsent: ifAbsent) ?? size
                continue
            }
            switch response.status {
            case 200, 201: return
            case 308: offset = Self.persistedEnd(response) ?? offset + count
            case let status where Self.isRetryable(status) && failures + 1 < retry.maxAttempts:
                failures += 1
                retry.sleep(retry.delay(afterAttempt: failures))
                offset = try persisted(session: session, key: key, size: size, ifAbsent: ifAbsent) ?? size
            default: try check(response, put, ifAbsent: ifAbsent)
            }
        }
    }

    /// How many bytes the session holds (`bytes */SIZE` status query); nil when it is complete.
    private func persisted(session: String, key: String, size: Int64, ifAbsent: Bool) throws(SnapfleetError) -> Int64? {
        let query = GCSCall(verb: "put", key: key, method: .put, url: session, headers: [("Content-Range", "bytes */\(size)")])
        let response = try send(query)
        if response.status == 200 || response.status == 201 { return nil }
        guard response.status == 308 else {
            try check(response, query, ifAbsent: ifAbsent)
            return 0
        }
        return Self.persistedEnd(response) ?? 0
    }

    /// The end of the `Range: bytes=0-N` a 308 carries (N + 1), nil without one.
    static func persistedEnd(_ response: HTTPResponse) -> Int64? {
        guard let range = response.headers["Range"], let last = range.split(separator: "-").last, let end = Int64(last) else { return nil }
        return end + 1
    }

    /// `count` bytes of the body from `offset`.
    static func chunk(of body: ObjectBody, offset: Int64, count: Int) throws(SnapfleetError) -> [UInt8] {
        switch body {
        case .bytes(let bytes): return Array(bytes[Int(offset)..<Int(offset) + count])
        case .file(let path): return try PosixFiles.readRange(path, offset: offset, count: count)
        }
    }
}
