import CloudCredentials
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// JSON REST calls with bearer tokens, as Compute Engine and Azure Resource Manager take them:
/// each call passes the `CloudAPIGate`, is counted by action, and reads or safe calls are
/// retried on 429, 5xx and lost connections. Calls that create something use `create`, which
/// looks for what a lost reply may have made before trying again.
///
/// Safe to share across threads: connections come from a small pool, one thread each.
public struct CloudJSONClient: Sendable {
    /// The provider's name in the gate and the metrics (`gcp`, `azure`).
    public let provider: String
    /// How often, and how patiently, retryable failures are tried again.
    public let retry: EC2RetryPolicy
    let authorizer: BearerAuthorizer
    let pool: HTTPConnectionPool
    /// Reads a provider's error document into an error code (throttling is recognised by it) and a summary.
    let describeError: @Sendable (HTTPResponse) -> (code: String, summary: String)

    /// A client for `provider`, with tokens from `tokens`.
    public init(
        provider: String, tokens: any AccessTokenSource, retry: EC2RetryPolicy = .standard,
        describeError: @escaping @Sendable (HTTPResponse) -> (code: String, summary: String)
    ) {
        self.provider = provider
        self.retry = retry
        authorizer = BearerAuthorizer(tokens: tokens)
        pool = HTTPConnectionPool(maxIdle: 4)
        self.describeError = describeError
    }

    /// A call that may be repeated safely (GET, DELETE, polling): retried as the policy says. The
    /// answer is returned whatever its status; transport failures that outlast the retries throw.
    public func call(_ action: String, _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil) throws(SnapfleetError) -> HTTPResponse {
        var attempt = 1
        while true {
            do throws(SnapfleetError) {
                let response = try callOnce(action, method, url, body: body)
                guard Self.isRetryable(response.status), attempt < retry.maxAttempts else { return response }
            } catch {
                guard error.retryable, attempt < retry.maxAttempts else { throw error }
            }
            usleep(UInt32(retry.delay(beforeAttempt: attempt + 1).microseconds))
            attempt += 1
        }
    }

    /// A call that creates something and must never be repeated blindly: after an answer that
    /// leaves open whether it acted (5xx, 429 after sending, a lost connection), `existing` looks
    /// for what it would have made; only when that finds nothing is the call tried again.
    public func create<T>(
        _ action: String, _ method: HTTPMethod, _ url: String, body: [UInt8], parse: (HTTPResponse) throws(SnapfleetError) -> T,
        existing: () throws(SnapfleetError) -> T?
    ) throws(SnapfleetError) -> T {
        var attempt = 1
        while true {
            let failure: SnapfleetError
            do throws(SnapfleetError) {
                let response = try callOnce(action, method, url, body: body)
                guard Self.isRetryable(response.status) else { return try parse(response) }
                failure = error(action, response)
            } catch {
                guard error.retryable else { throw error }
                failure = error
            }
            usleep(UInt32(retry.delay(beforeAttempt: attempt + 1).microseconds))
            if let found = try existing() { return found }
            guard attempt < retry.maxAttempts else {
                throw SnapfleetError(failure.code, "\(failure.message) (\(attempt) attempts; none found to have acted)", retryable: true)
            }
            attempt += 1
        }
    }

    /// The error a non-2xx answer stands for, naming the action and the provider's code.
    public func error(_ action: String, _ response: HTTPResponse) -> SnapfleetError {
        let (code, summary) = describeError(response)
        let kind: ErrorCode = response.status == 404 ? .notFound : response.status == 409 ? .alreadyExists : .httpError
        return SnapfleetError(
            kind, "\(provider) \(action) failed: \(summary)", hint: Self.hint(status: response.status, code: code),
            retryable: Self.isRetryable(response.status))
    }

    /// The decoded body of a 2xx answer; an error for any other.
    public func decode<T: Decodable>(_ type: T.Type, _ action: String, _ response: HTTPResponse) throws(SnapfleetError) -> T {
        guard response.isSuccess else { throw error(action, response) }
        do { return try JSONDecoder().decode(type, from: Data(response.body)) } catch {
            throw SnapfleetError(.httpError, "\(provider) \(action) returned an unreadable answer: \(error)")
        }
    }

    /// 408, 429 and 5xx: retryable for both clouds.
    static func isRetryable(_ status: Int) -> Bool { status == 408 || status == 429 || status >= 500 }

    /// What to check for refusals an operator can fix.
    static func hint(status: Int, code: String) -> String? {
        switch status {
        case 401: "the credentials were refused: check the key, secret or certificate and its tenant or project"
        case 403: "the credentials lack a permission for this call: see the README's list of required permissions"
        default: nil
        }
    }

    /// One attempt: the gate, the token, the request, the count.
    private func callOnce(_ action: String, _ method: HTTPMethod, _ url: String, body: [UInt8]?) throws(SnapfleetError) -> HTTPResponse {
        let gate = CloudAPIGate.shared
        gate.admit(provider)
        let response: HTTPResponse
        do {
            response = try authorizer.perform { authorization throws(SnapfleetError) in
                var headers = HTTPHeaders([("Authorization", authorization), ("Accept", "application/json")])
                if body != nil { headers.append(name: "Content-Type", value: "application/json") }
                let request = HTTPRequest(
                    method: method, url: url, headers: headers, body: body.map { .bytes($0) } ?? .empty, connectTimeout: .seconds(10),
                    timeout: .seconds(60), maxResponseBytes: 16 << 20)
                return try pool.withConnection { connection throws(SnapfleetError) in
                    do { return try connection.perform(request) } catch let error as SnapfleetError { throw error } catch {
                        throw SnapfleetError(.httpError, "\(error)", retryable: true)
                    }
                }
            }
        } catch {
            gate.record(provider, action: action, error: "transport")
            throw SnapfleetError(error.code, "\(provider) \(action) failed: \(error.message)", retryable: error.retryable)
        }
        if response.isSuccess {
            gate.record(provider, action: action, error: nil)
        } else {
            let code = describeError(response).code
            gate.record(provider, action: action, error: code, throttled: response.status == 429)
        }
        return response
    }
}
