import AWSSigning
import CloudXML
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal client for the EC2 Query API: form-encoded POSTs signed with SigV4, XML answers.
///
/// Safe to share across threads: each call opens its own `HTTPConnection` (EC2 calls are few,
/// so keep-alive buys little and a shared handle would serialise them).
public struct EC2Client: Sendable {
    /// The API version every request names.
    public static let apiVersion = "2016-11-15"
    /// The region requests are signed for (and, without an injected endpoint, sent to).
    public let region: String
    /// `https://ec2.REGION.amazonaws.com`, or the injected one (moto).
    public let endpoint: String
    /// How often, and how patiently, retryable failures are tried again.
    public let retry: EC2RetryPolicy
    let signer: SigV4Signer
    let url: RequestURL

    /// Creates a client; `endpoint` overrides the regional AWS endpoint (e.g. `http://127.0.0.1:5000`).
    public init(credentials: AWSCredentials, region: String, endpoint: String? = nil, retry: EC2RetryPolicy = .standard)
        throws(SnapfleetError)
    {
        self.region = region
        self.endpoint = endpoint ?? "https://ec2.\(region).amazonaws.com"
        self.retry = retry
        signer = SigV4Signer(credentials: credentials, region: region, service: "ec2")
        url = try RequestURL(parsing: self.endpoint.hasSuffix("/") ? self.endpoint : self.endpoint + "/")
    }

    /// Calls `action` with `parameters` (beyond `Action` and `Version`) and returns the parsed
    /// response document; retries throttling, 5xx and connection failures with backoff. Only for
    /// calls that may be repeated safely (reads, deletes, locks): creations use `callCreating`.
    public func call(_ action: String, _ parameters: [(String, String)] = []) throws(SnapfleetError) -> XMLTree {
        var attempt = 1
        while true {
            do {
                return try callOnce(action, parameters)
            } catch {
                guard error.retryable, attempt < retry.maxAttempts else { throw error }
                // Exponential backoff: throttling (RequestLimitExceeded) clears only if we slow down.
                usleep(UInt32(retry.delay(beforeAttempt: attempt + 1).microseconds))
                attempt += 1
            }
        }
    }

    /// Calls an `action` that creates something and must never be repeated blindly: when a failure
    /// leaves open whether it acted (a 5xx or a lost connection after the request went out, where
    /// only the reply was lost), `existing` looks for what it would have made (by tag or client
    /// token) after a backoff, and only when that finds nothing is the call tried again. A duplicate
    /// that eventual consistency still hides is left for the caller's reconciliation to find.
    public func callCreating<T>(
        _ action: String, _ parameters: [(String, String)], parse: (XMLTree) throws(SnapfleetError) -> T,
        existing: () throws(SnapfleetError) -> T?
    ) throws(SnapfleetError) -> T {
        var attempt = 1
        while true {
            let failure: SnapfleetError
            do { return try parse(try callOnce(action, parameters)) } catch { failure = error }
            guard failure.retryable else { throw failure }
            usleep(UInt32(retry.delay(beforeAttempt: attempt + 1).microseconds))
            if let found = try existing() { return found }
            guard attempt < retry.maxAttempts else {
                throw SnapfleetError(
                    failure.code, "\(failure.message) (\(attempt) attempts; none found to have acted)", retryable: true)
            }
            attempt += 1
        }
    }

    /// One signed request, without retries.
    func callOnce(_ action: String, _ parameters: [(String, String)]) throws(SnapfleetError) -> XMLTree {
        let body = Array(Self.formBody(action: action, parameters).utf8)
        let contentType = "application/x-www-form-urlencoded; charset=utf-8"
        let signable = SignableRequest(method: "POST", url: url, headers: [HeaderField("Content-Type", contentType)], payload: .bytes(body))
        var headers = HTTPHeaders([("Content-Type", contentType)])
        for field in try signer.sign(request: signable, date: Date()) { headers.append(name: field.name, value: field.value) }
        let request = HTTPRequest(
            method: .post, url: url.string, headers: headers, body: .bytes(body), connectTimeout: .seconds(10), timeout: .seconds(60))
        let gate = CloudAPIGate.shared
        gate.admit("aws")
        let response: HTTPResponse
        do { response = try send(request, action: action) } catch {
            gate.record("aws", action: action, error: "transport")
            throw error
        }
        guard response.isSuccess else {
            let code = EC2APIError(status: response.status, body: response.body).code
            gate.record("aws", action: action, error: code, throttled: Self.throttlingCodes.contains(code))
            throw Self.apiError(action: action, status: response.status, body: response.body)
        }
        gate.record("aws", action: action, error: nil)
        do {
            return try XMLTree.parse(response.body)
        } catch {
            throw SnapfleetError(.httpError, "ec2 \(action) returned an unreadable response: \(error.message)")
        }
    }

    /// Performs `request` on a fresh connection, turning transport failures into errors naming the action.
    private func send(_ request: HTTPRequest, action: String) throws(SnapfleetError) -> HTTPResponse {
        do {
            return try HTTPConnection().perform(request)
        } catch let error as SnapfleetError {
            throw SnapfleetError(error.code, "ec2 \(action) failed: \(error.message)", retryable: error.retryable)
        } catch {
            throw SnapfleetError(.httpError, "ec2 \(action) failed: \(error)", retryable: true)
        }
    }

    /// `Action=…&Version=…&name=value…`, each part encoded the SigV4 way (RFC 3986 unreserved kept).
    static func formBody(action: String, _ parameters: [(String, String)]) -> String {
        ([("Action", action), ("Version", apiVersion)] + parameters)
            .map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }
            .joined(separator: "&")
    }

    /// The error for a non-2xx answer, from its `<Response><Errors><Error>` document if it has one.
    static func apiError(action: String, status: Int, body: [UInt8]) -> SnapfleetError {
        let error = EC2APIError(status: status, body: body)
        let detail = error.message.isEmpty ? "" : ": \(error.message)"
        return SnapfleetError(
            errorCode(for: error.code, status: status), "ec2 \(action) failed with \(error.code) (http \(status))\(detail)",
            retryable: isRetryable(code: error.code, status: status))
    }

    /// Authentication problems, missing resources and the rest.
    static func errorCode(for code: String, status: Int) -> ErrorCode {
        if ["AuthFailure", "UnauthorizedOperation", "SignatureDoesNotMatch", "InvalidClientTokenId"].contains(code) { return .notAuthorized }
        if code.hasSuffix(".NotFound") { return .notFound }
        return .httpError
    }

    /// The answers that say the account's request rate was exceeded.
    static let throttlingCodes: Set<String> = ["RequestLimitExceeded", "Throttling", "ThrottlingException"]

    /// Throttling and server-side failures may pass; anything the request itself caused will not.
    static func isRetryable(code: String, status: Int) -> Bool {
        throttlingCodes.contains(code) || ["InternalError", "Unavailable", "ServiceUnavailable"].contains(code) || status >= 500
    }
}

/// The code and message of an EC2 error document (`<Response><Errors><Error>`).
public struct EC2APIError: Sendable, Equatable {
    /// The EC2 error code (`AuthFailure`, `InvalidSnapshot.NotFound`…), or `HTTP<status>` if the body had none.
    public var code: String
    /// The message, possibly empty (moto sends none for some codes).
    public var message: String

    /// Parses an error body; an unreadable one gives `HTTP<status>` and no message.
    public init(status: Int, body: [UInt8]) {
        let error = (try? XMLTree.parse(body))?.descendant(["Errors", "Error"])
        code = error?.value("Code") ?? "HTTP\(status)"
        message = error?.value("Message") ?? ""
    }
}

/// How many times a retryable EC2 failure is tried, with exponential backoff between attempts.
public struct EC2RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The wait before the second attempt; it doubles for each one after.
    public var baseDelay: Duration

    /// Creates a policy.
    public init(maxAttempts: Int, baseDelay: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
    }

    /// Four attempts, 0.5 s, 1 s, 2 s apart.
    public static let standard = EC2RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(500))

    /// The wait before attempt `attempt` (2 or more).
    func delay(beforeAttempt attempt: Int) -> Duration {
        baseDelay * (1 << min(max(attempt - 2, 0), 10))
    }
}

extension Duration {
    /// The duration in whole microseconds, for `usleep`.
    var microseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
