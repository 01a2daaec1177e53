import AWSSigning
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One S3 request as the store describes it, before signing.
struct S3Call: Sendable {
    /// `put`, `get`, … for messages.
    var verb: String
    /// The object key, or nil for a bucket-level request.
    var key: String?
    /// The method.
    var method: HTTPMethod
    /// Headers to sign and send.
    var headers: [HeaderField] = []
    /// The payload as signed.
    var payload: RequestPayload = .empty
    /// The body as sent.
    var body: HTTPRequest.Body = .empty
    /// Query parameters.
    var query: [QueryItem] = []
    /// The prefix of a listing, for messages.
    var listPrefix: String?
    /// Where a 2xx body goes, when not into memory.
    var responseFile: String?
}

extension S3ObjectStore {
    /// Signs and sends `call`, retrying per `options.retry`; returns the last response whatever its status.
    func send(_ call: S3Call) throws(SnapfleetError) -> HTTPResponse {
        let policy = options.retry
        var attempt = 1
        while true {
            do throws(SnapfleetError) {
                let response = try transport.perform(try signedRequest(call))
                let retryable = !response.isSuccess && S3ErrorResponse(response).isRetryable
                guard retryable && attempt < policy.maxAttempts else { return response }
            } catch {
                // Only transport failures (connection refused, reset, timeout) are retryable here;
                // a signing or local file error would fail the same way again.
                guard error.retryable && attempt < policy.maxAttempts else { throw failure(call, error) }
            }
            policy.sleep(policy.delay(afterAttempt: attempt))
            attempt += 1
        }
    }

    /// Throws the error a non-2xx response stands for; `ifAbsent` turns 412 into `.alreadyExists`.
    func check(_ response: HTTPResponse, _ call: S3Call, ifAbsent: Bool = false) throws(SnapfleetError) {
        guard !response.isSuccess else { return }
        throw error(S3ErrorResponse(response), call, ifAbsent: ifAbsent)
    }

    /// The `SnapfleetError` for an S3 error document: names the object and S3's code, never a signature.
    func error(_ reply: S3ErrorResponse, _ call: S3Call, ifAbsent: Bool = false) -> SnapfleetError {
        let subject = "s3 \(call.verb) \(location(call))"
        if ifAbsent && (reply.status == 412 || reply.code == "PreconditionFailed") {
            return SnapfleetError(.alreadyExists, "\(subject) refused: the object already exists (\(reply.summary))")
        }
        if reply.code == "NoSuchBucket" {
            return SnapfleetError(
                .notFound, "\(subject) failed: bucket \(bucket) does not exist (\(reply.summary))",
                hint: "create the bucket or fix the destination url")
        }
        if reply.isMissingKey {
            return SnapfleetError(.notFound, "\(subject) failed: no such object (\(reply.summary))")
        }
        return SnapfleetError(
            .httpError, "\(subject) failed: \(reply.summary)", hint: Self.hint(for: reply.code), retryable: reply.isRetryable)
    }

    /// `s3://bucket/key` (or `s3://bucket/prefix*` for a listing).
    func location(_ call: S3Call) -> String {
        if let key = call.key { return "s3://\(bucket)/\(ObjectKey.printable(key))" }
        return "s3://\(bucket)/\(ObjectKey.printable(call.listPrefix ?? ""))*"
    }

    /// The transport error with the object named.
    private func failure(_ call: S3Call, _ error: SnapfleetError) -> SnapfleetError {
        var wrapped = error
        wrapped.message = "s3 \(call.verb) \(location(call)) failed: \(error.message)"
        return wrapped
    }

    /// The request with the SigV4 headers added, signed now.
    private func signedRequest(_ call: S3Call) throws(SnapfleetError) -> HTTPRequest {
        let url = addressing.url(key: call.key, query: call.query)
        let signable = SignableRequest(method: call.method.rawValue, url: url, headers: call.headers, payload: call.payload)
        let signed = try signer.sign(request: signable, date: Date())
        let headers = HTTPHeaders((call.headers + signed).map { ($0.name, $0.value) })
        let responseBody: HTTPRequest.ResponseBody = call.responseFile.map { .file(path: $0) } ?? .memory
        // Objects fetched into memory may be large (a backup.info is small, a WAL segment 16 MiB+).
        return HTTPRequest(
            method: call.method, url: url.string, headers: headers, body: call.body, responseBody: responseBody,
            timeout: .seconds(3600), maxResponseBytes: 1 << 30)
    }

    /// What the operator can do about an error code, when it is obvious.
    private static func hint(for code: String) -> String? {
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId": "check the access key id and secret access key"
        case "AccessDenied", "Forbidden": "check the credentials' permissions on the bucket"
        case "AuthorizationHeaderMalformed", "PermanentRedirect": "check the bucket's region"
        default: nil
        }
    }
}
