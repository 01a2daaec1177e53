import SnapfleetCore
import TokenSigning

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The scope every snapfleet call to Google needs: Compute Engine and Cloud Storage.
public let googleCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

/// Tokens for a service account: a JWT signed with its key (RS256) exchanged at its `token_uri`
/// (OAuth 2.0 JWT bearer grant, RFC 7523), as Google's own libraries do.
public struct GoogleServiceAccountTokens: AccessTokenSource {
    /// The service account.
    public let key: GoogleServiceAccountKey
    /// The scope asked for.
    public let scope: String
    /// Where tokens are kept between calls.
    public let cache: TokenCache

    /// Creates a source; nothing is asked until `token(now:)`.
    public init(key: GoogleServiceAccountKey, scope: String = googleCloudPlatformScope, cache: TokenCache = .shared) {
        self.key = key
        self.scope = scope
        self.cache = cache
    }

    private var identity: String { "google \(key.clientEmail) \(key.privateKeyID) \(scope)" }

    /// Drops the cached token.
    public func forgetToken() { cache.forget(identity) }

    /// A cached token while it is fresh, else a new one from the token endpoint.
    public func token(now: Date) throws(SnapfleetError) -> AccessToken {
        try cache.token(for: identity, now: now) { () throws(SnapfleetError) in
            let response = try TokenEndpoint.post(
                key.tokenURI,
                form: [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", try assertion(now: now))],
                what: "google token request for \(key.clientEmail)")
            return try TokenEndpoint.accessToken(from: response, what: "google token endpoint \(key.tokenURI)", now: now)
        }
    }

    /// The grant's JWT: header `typ`, `alg`, `kid`; claims `iat`, `exp` (an hour), `iss`, `aud`,
    /// `scope`, in the order and spelling of google-auth's `_make_authorization_grant_assertion`.
    public func assertion(now: Date) throws(SnapfleetError) -> String {
        let issued = Int(now.timeIntervalSince1970)
        return try JSONWebToken.rs256(
            header: [("typ", .string("JWT")), ("alg", .string("RS256")), ("kid", .string(key.privateKeyID))],
            claims: [
                ("iat", .integer(issued)), ("exp", .integer(issued + 3600)), ("iss", .string(key.clientEmail)),
                ("aud", .string(key.tokenURI)), ("scope", .string(scope)),
            ],
            key: key.privateKey)
    }
}

/// Tokens of the instance's service account from the GCE metadata server (the controller running
/// on Compute Engine without a key file).
public struct GoogleMetadataTokens: AccessTokenSource {
    /// The metadata server, `http://metadata.google.internal` unless injected (tests).
    public let endpoint: String
    /// Where tokens are kept between calls.
    public let cache: TokenCache

    /// Creates a source; nothing is asked until `token(now:)`.
    public init(endpoint: String = "http://metadata.google.internal", cache: TokenCache = .shared) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.cache = cache
    }

    /// Drops the cached token.
    public func forgetToken() { cache.forget("google metadata \(endpoint)") }

    /// A cached token while it is fresh, else a new one from the metadata server.
    public func token(now: Date) throws(SnapfleetError) -> AccessToken {
        try cache.token(for: "google metadata \(endpoint)", now: now) { () throws(SnapfleetError) in
            let url = endpoint + "/computeMetadata/v1/instance/service-accounts/default/token"
            // Metadata-Flavor proves the request is not a forwarded one (SSRF); the server refuses it otherwise.
            let response = try TokenEndpoint.get(
                url, headers: [("Metadata-Flavor", "Google")], what: "gce metadata token request", timeout: .seconds(3))
            return try TokenEndpoint.accessToken(from: response, what: "gce metadata server \(endpoint)", now: now)
        }
    }
}

/// Google credentials as application-default credentials find them: an explicit key file, else
/// `GOOGLE_APPLICATION_CREDENTIALS`, else the metadata server.
public enum GoogleCredentials {
    /// The key file in use, if any (signed URLs need one).
    public static func keyFile(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["GOOGLE_APPLICATION_CREDENTIALS"], !fromEnvironment.isEmpty { return fromEnvironment }
        return nil
    }

    /// The token source for these settings.
    public static func tokens(
        keyFile explicit: String?, metadataEndpoint: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(SnapfleetError) -> any AccessTokenSource {
        if let path = keyFile(explicit: explicit, environment: environment) {
            return GoogleServiceAccountTokens(key: try GoogleServiceAccountKey.load(path: path))
        }
        return GoogleMetadataTokens(endpoint: metadataEndpoint ?? "http://metadata.google.internal")
    }
}
