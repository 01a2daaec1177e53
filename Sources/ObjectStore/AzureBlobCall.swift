import AWSSigning
import CloudCredentials
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One Blob service request as the store describes it, before it is dated and authorized.
struct AzureBlobCall: Sendable {
    /// `put`, `get`, … for messages.
    var verb: String
    /// The blob's key, or nil for a container or service request.
    var key: String?
    /// The method.
    var method: HTTPMethod
    /// The URL path as sent (percent-encoded): what Shared Key signs.
    var path: String
    /// Query parameters, unencoded.
    var query: [(String, String)] = []
    /// Headers besides `x-ms-date`, `x-ms-version` and `Authorization`.
    var headers: [(String, String)] = []
    /// The body.
    var body: HTTPRequest.Body = .empty
    /// The body's length (curl sends it as `Content-Length`, and Shared Key signs it).
    var bodyLength: Int64 = 0
    /// Where a 2xx body goes, when not into memory.
    var responseFile: String?
    /// The prefix of a listing, for messages.
    var listPrefix: String?

    /// The query as sent: RFC 3986 encoding (a block id's `+`, `/` and `=` escaped).
    var queryString: String { query.map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }.joined(separator: "&") }
}

extension AzureBlobObjectStore {
    /// Sends `call`, dated and authorized afresh on each attempt, retrying 408, 429, 5xx and
    /// connection failures per `retry`; returns the last response whatever its status.
    func send(_ call: AzureBlobCall) throws(SnapfleetError) -> HTTPResponse {
        var attempt = 1
        while true {
            do throws(SnapfleetError) {
                let response = try sendOnce(call)
                guard Self.isRetryable(response.status), attempt < retry.maxAttempts else { return response }
            } catch {
                guard error.retryable, attempt < retry.maxAttempts else { throw failure(call, error) }
            }
            retry.sleep(retry.delay(afterAttempt: attempt))
            attempt += 1
        }
    }

    /// One attempt: Shared Key signed now, or a bearer token (asked for again once after a 401).
    private func sendOnce(_ call: AzureBlobCall) throws(SnapfleetError) -> HTTPResponse {
        guard let authorizer else { return try transport.perform(try request(call, bearer: nil)) }
        return try authorizer.perform { authorization throws(SnapfleetError) in
            try transport.perform(try request(call, bearer: authorization))
        }
    }

    /// The HTTP request for `call`, dated `date`.
    func request(_ call: AzureBlobCall, bearer: String?, date: Date = Date()) throws(SnapfleetError) -> HTTPRequest {
        var headers = call.headers + [("x-ms-date", RFC1123Date.format(date)), ("x-ms-version", Self.apiVersion)]
        if let bearer {
            headers.append(("Authorization", bearer))
        } else if let signer {
            let signed = call.bodyLength > 0 ? headers + [("Content-Length", String(call.bodyLength))] : headers
            headers.append(
                ("Authorization", try signer.authorization(method: call.method.rawValue, path: call.path, query: call.queryString, headers: signed)))
        }
        let query = call.queryString
        let url = origin + call.path + (query.isEmpty ? "" : "?" + query)
        let responseBody: HTTPRequest.ResponseBody = call.responseFile.map { .file(path: $0) } ?? .memory
        // Blobs read into memory may be large (a WAL segment is 16 MiB, a block 8 MiB or more).
        return HTTPRequest(
            method: call.method, url: url, headers: HTTPHeaders(headers), body: call.body, responseBody: responseBody, timeout: .seconds(3600),
            maxResponseBytes: 1 << 30)
    }

    /// 408, 429 and 5xx: what the storage SDKs retry.
    static func isRetryable(_ status: Int) -> Bool { status == 408 || status == 429 || status >= 500 }

    /// Throws what a non-2xx answer means; with `ifAbsent`, 409 BlobAlreadyExists (what the
    /// service answers to `If-None-Match: *` on an existing blob) and 412 mean `.alreadyExists`.
    func check(_ response: HTTPResponse, _ call: AzureBlobCall, ifAbsent: Bool = false) throws(SnapfleetError) {
        guard !response.isSuccess else { return }
        let reply = AzureBlobErrorReply(response)
        let subject = "azure \(call.verb) \(location(call))"
        switch (response.status, reply.code) {
        case (409, "BlobAlreadyExists") where ifAbsent, (412, _) where ifAbsent:
            throw SnapfleetError(.alreadyExists, "\(subject) refused: the object already exists (\(reply.summary))")
        case (404, "ContainerNotFound"):
            throw SnapfleetError(
                .notFound, "\(subject) failed: container \(container) does not exist in account \(account) (\(reply.summary))",
                hint: "create the container or fix the destination url")
        case (404, _):
            throw SnapfleetError(.notFound, "\(subject) failed: no such object (\(reply.summary))")
        case (401, _), (403, _):
            throw SnapfleetError(
                .httpError, "\(subject) failed: \(reply.summary)",
                hint: signer != nil
                    ? "check the storage account's access key"
                    : "check that the identity has a blob data role on the container (Storage Blob Data Contributor)")
        default:
            throw SnapfleetError(.httpError, "\(subject) failed: \(reply.summary)", retryable: reply.isRetryable)
        }
    }

    /// `ACCOUNT/CONTAINER/KEY` (or `ACCOUNT/CONTAINER/PREFIX*` for a listing).
    func location(_ call: AzureBlobCall) -> String {
        "\(account)/\(container)/" + ObjectKey.printable(call.key ?? (call.listPrefix.map { $0 + "*" } ?? ""))
    }

    /// A transport failure named after the call.
    private func failure(_ call: AzureBlobCall, _ error: SnapfleetError) -> SnapfleetError {
        SnapfleetError(error.code, "azure \(call.verb) \(location(call)) failed: \(error.message)", retryable: error.retryable)
    }
}
