import AWSSigning
import HTTPClient
import SnapfleetCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The instance role's temporary credentials from the EC2 instance metadata service, IMDSv2 only.
///
/// A session token is obtained with a `PUT` first (IMDSv1's plain `GET`s are refused on hardened
/// instances and invite SSRF). Credentials are kept and fetched again `refreshMargin` before
/// their `Expiration`. Safe to share across threads.
public final class InstanceMetadataCredentials: Sendable {
    /// The metadata service, `http://169.254.169.254` unless injected (tests).
    public let endpoint: String
    /// How long before expiry cached credentials are replaced.
    public let refreshMargin: Duration
    /// The longest each metadata request may take; short, since off EC2 nothing answers.
    public let timeout: Duration
    private let cached = Mutex<(credentials: AWSCredentials, expiration: Date?)?>(nil)

    /// Creates a source; nothing is fetched until `credentials()` is called.
    public init(endpoint: String = "http://169.254.169.254", refreshMargin: Duration = .seconds(300), timeout: Duration = .seconds(2)) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.refreshMargin = refreshMargin
        self.timeout = timeout
    }

    /// The role's credentials: the cached ones while they are not about to expire, else fresh ones.
    public func credentials(now: Date = Date()) throws(SnapfleetError) -> AWSCredentials {
        if let current = cached.withLock({ $0 }), !isStale(current.expiration, now: now) { return current.credentials }
        let fetched = try fetch()
        cached.withLock { $0 = fetched }
        return fetched.credentials
    }

    /// Whether credentials expiring at `expiration` must be replaced at `now`.
    private func isStale(_ expiration: Date?, now: Date) -> Bool {
        guard let expiration else { return false }
        return now.addingTimeInterval(Double(refreshMargin.components.seconds)) >= expiration
    }

    /// Token, role name, then the role's credentials document.
    private func fetch() throws(SnapfleetError) -> (credentials: AWSCredentials, expiration: Date?) {
        // 6 h, the longest IMDS allows; the token is only used for the next two requests.
        let token = try request(.put, "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
        let tokenHeader = [("X-aws-ec2-metadata-token", token)]
        let roles = try request(.get, "/latest/meta-data/iam/security-credentials/", headers: tokenHeader)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw SnapfleetError(.notFound, "instance metadata at \(endpoint) lists no iam role", hint: "attach an instance profile to the instance")
        }
        let document = try request(.get, "/latest/meta-data/iam/security-credentials/\(role)", headers: tokenHeader)
        return try Self.parse(document, role: role)
    }

    /// One metadata request's body; any status but 200 is an error (the body may be secret, so it is not shown).
    private func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)]) throws(SnapfleetError) -> String {
        let request = HTTPRequest(
            method: method, url: endpoint + path, headers: HTTPHeaders(headers), connectTimeout: timeout, timeout: timeout,
            maxResponseBytes: 64 << 10)
        let response: HTTPResponse
        do {
            response = try HTTPConnection().perform(request)
        } catch {
            throw SnapfleetError(.httpError, "instance metadata \(method.rawValue.lowercased()) \(path) failed: \(error)", retryable: true)
        }
        guard response.status == 200 else {
            throw SnapfleetError(.httpError, "instance metadata \(method.rawValue.lowercased()) \(path) answered http \(response.status)")
        }
        return response.text
    }

    /// The role credentials document (`Code`, `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`).
    static func parse(_ document: String, role: String) throws(SnapfleetError) -> (credentials: AWSCredentials, expiration: Date?) {
        guard let body = try? JSONDecoder().decode(RoleCredentials.self, from: Data(document.utf8)) else {
            throw SnapfleetError(.httpError, "instance metadata credentials of role \(role) are not a valid document")
        }
        guard body.code == nil || body.code == "Success" else {
            throw SnapfleetError(.httpError, "instance metadata credentials of role \(role) are unavailable: \(body.code ?? "")")
        }
        let expiration = body.expiration.flatMap { try? Date($0, strategy: .iso8601) }
        let credentials = AWSCredentials(
            accessKeyID: body.accessKeyID, secretAccessKey: Redacted(body.secretAccessKey), sessionToken: body.token.map { Redacted($0) })
        return (credentials, expiration)
    }
}

/// The JSON IMDS serves for a role.
private struct RoleCredentials: Decodable {
    var code: String?
    var accessKeyID: String
    var secretAccessKey: String
    var token: String?
    var expiration: String?

    enum CodingKeys: String, CodingKey {
        case code = "Code"
        case accessKeyID = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
    }
}
