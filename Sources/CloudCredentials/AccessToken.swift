import HTTPClient
import SnapfleetCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An OAuth 2.0 bearer token and when it stops working.
public struct AccessToken: Sendable, Equatable {
    /// The token; sent only in an `Authorization` header.
    public let value: Redacted<String>
    /// When it expires.
    public let expiresAt: Date

    /// Wraps a token.
    public init(value: String, expiresAt: Date) {
        self.value = Redacted(value)
        self.expiresAt = expiresAt
    }

    /// `Bearer <token>`.
    public var authorization: String { "Bearer " + value.value }
}

/// Where bearer tokens come from (a Google service account or metadata server, Entra ID): every
/// call answers a token good for a few more minutes at least.
public protocol AccessTokenSource: Sendable {
    /// A token valid at `now` and a while after.
    func token(now: Date) throws(SnapfleetError) -> AccessToken
    /// Drops the cached token (the service refused it): the next call asks for a new one.
    func forgetToken()
}

extension AccessTokenSource {
    /// A token valid now.
    public func token() throws(SnapfleetError) -> AccessToken { try token(now: Date()) }
}

/// The tokens of every source in this process, by the source's identity (credential, scope):
/// providers and stores are made per operation, and each must not ask the token endpoint again.
/// A token is replaced `refreshMargin` before it expires; one fetch at a time per identity.
public final class TokenCache: Sendable {
    /// The process's cache.
    public static let shared = TokenCache()

    /// How long before expiry a token is replaced (5 minutes, as Google's and Microsoft's libraries do).
    public let refreshMargin: TimeInterval
    private let entries = Mutex<[String: Entry]>([:])

    /// One identity's token, behind its own lock so fetches of different identities run side by side.
    private final class Entry: Sendable {
        let token = Mutex<AccessToken?>(nil)
    }

    /// Creates an empty cache.
    public init(refreshMargin: TimeInterval = 300) {
        self.refreshMargin = refreshMargin
    }

    /// The cached token of `identity` while it is fresh, else the one `fetch` returns (kept).
    public func token(
        for identity: String, now: Date, fetch: () throws(SnapfleetError) -> AccessToken
    ) throws(SnapfleetError) -> AccessToken {
        let entry = entries.withLock { entries in
            if let found = entries[identity] { return found }
            let made = Entry()
            entries[identity] = made
            return made
        }
        // The lock is held during the fetch on purpose: threads asking at once wait for one answer
        // instead of each asking the token endpoint.
        return try entry.token.withLock { (cached: inout AccessToken?) throws(SnapfleetError) -> AccessToken in
            if let current = cached, current.expiresAt.timeIntervalSince(now) > refreshMargin { return current }
            let fresh = try fetch()
            cached = fresh
            return fresh
        }
    }

    /// Forgets the token of `identity` (one the cloud refused with 401 is not used again).
    public func forget(_ identity: String) {
        entries.withLock { $0[identity] = nil }
    }
}

/// The token endpoints' shared transport: a form POST (or a GET with headers) with short
/// timeouts, answered by a JSON body whose text may hold a token and is never shown.
enum TokenEndpoint {
    /// POSTs `form` (URL-encoded) to `url`; returns the status and body.
    static func post(_ url: String, form: [(String, String)], what: String) throws(SnapfleetError) -> HTTPResponse {
        let body = form.map { "\(formEncoded($0.0))=\(formEncoded($0.1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: .post, url: url, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: .bytes(Array(body.utf8)),
            connectTimeout: .seconds(10), timeout: .seconds(30), maxResponseBytes: 1 << 20)
        return try send(request, what: what)
    }

    /// GETs `url` with `headers`.
    static func get(_ url: String, headers: [(String, String)], what: String, timeout: Duration = .seconds(10)) throws(SnapfleetError)
        -> HTTPResponse
    {
        let request = HTTPRequest(
            method: .get, url: url, headers: HTTPHeaders(headers), connectTimeout: timeout, timeout: timeout, maxResponseBytes: 1 << 20)
        return try send(request, what: what)
    }

    private static func send(_ request: HTTPRequest, what: String) throws(SnapfleetError) -> HTTPResponse {
        do { return try HTTPConnection().perform(request) } catch {
            throw SnapfleetError(.httpError, "\(what) failed: \(error)", retryable: true)
        }
    }

    /// `application/x-www-form-urlencoded` (RFC 3986 unreserved characters kept).
    static func formEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// The token document OAuth 2.0 endpoints answer (`access_token`, `expires_in`, Azure IMDS's `expires_on`).
    struct Reply: Decodable {
        var accessToken: String?
        var expiresIn: FlexibleInt?
        var expiresOn: FlexibleInt?
        var error: String?
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case expiresIn = "expires_in"
            case expiresOn = "expires_on"
            case error
            case errorDescription = "error_description"
        }
    }

    /// A number sent as a JSON number or a string (Azure IMDS sends strings).
    struct FlexibleInt: Decodable {
        var value: Int
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                value = number
            } else if let text = try? container.decode(String.self), let number = Int(text) {
                value = number
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a number")
            }
        }
    }

    /// The token in a 200 answer; any other answer is an error naming the endpoint's own error code.
    static func accessToken(from response: HTTPResponse, what: String, now: Date) throws(SnapfleetError) -> AccessToken {
        let reply = try? JSONDecoder().decode(Reply.self, from: Data(response.body))
        guard response.status == 200 else {
            // error and error_description name the problem (invalid_grant, AADSTS7000215…) and hold no secret.
            // Entra's description goes on with "\r\nTrace ID: …" lines: only its first line is kept.
            let detail = [reply?.error, reply?.errorDescription.map { String($0.prefix { !$0.isNewline }.prefix(300)) }].compactMap { $0 }
                .joined(separator: ": ")
            throw SnapfleetError(
                .httpError, "\(what) answered http \(response.status)\(detail.isEmpty ? "" : " (\(detail))")",
                retryable: response.status >= 500 || response.status == 429)
        }
        guard let reply, let token = reply.accessToken, !token.isEmpty else {
            throw SnapfleetError(.httpError, "\(what) answered without an access_token")
        }
        let expiresAt: Date
        if let seconds = reply.expiresIn?.value {
            expiresAt = now.addingTimeInterval(TimeInterval(seconds))
        } else if let epoch = reply.expiresOn?.value {
            expiresAt = Date(timeIntervalSince1970: TimeInterval(epoch))
        } else {
            expiresAt = now.addingTimeInterval(3600)
        }
        return AccessToken(value: token, expiresAt: expiresAt)
    }
}

/// A request sent with a bearer token: on a 401 the token is forgotten and the request sent once
/// more with a fresh one (a token revoked or expired early), as Google's and Microsoft's clients do.
public struct BearerAuthorizer: Sendable {
    /// Where tokens come from.
    public let tokens: any AccessTokenSource

    /// Wraps a token source.
    public init(tokens: any AccessTokenSource) { self.tokens = tokens }

    /// `send` called with the `Authorization` header value; a 401 answer is retried once with a new token.
    public func perform(_ send: (String) throws(SnapfleetError) -> HTTPResponse) throws(SnapfleetError) -> HTTPResponse {
        let response = try send(try tokens.token().authorization)
        guard response.status == 401 else { return response }
        tokens.forgetToken()
        return try send(try tokens.token().authorization)
    }
}
