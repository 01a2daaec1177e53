import SnapfleetCore
import TokenSigning

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Entra ID resource of Azure Resource Manager (VMs, disks, snapshots).
public let azureManagementResource = "https://management.azure.com/"
/// The Entra ID resource of Azure Storage (blobs, user delegation keys).
public let azureStorageResource = "https://storage.azure.com/"
/// Microsoft Entra ID's authority in Azure's public cloud.
public let azurePublicAuthority = "https://login.microsoftonline.com"
/// The instance metadata service every Azure VM reaches (managed identities).
public let azureIMDSEndpoint = "http://169.254.169.254"

/// Tokens of an app registration with a client secret: the OAuth 2.0 client-credentials grant at
/// `{authority}/{tenant}/oauth2/v2.0/token` with scope `RESOURCE/.default`.
public struct AzureClientSecretTokens: AccessTokenSource {
    /// The directory (tenant) id.
    public let tenantID: String
    /// The application (client) id.
    public let clientID: String
    /// The client secret's value; sent only in the token request's body.
    public let secret: Redacted<String>
    /// The resource the tokens are for (`azureManagementResource`, `azureStorageResource`).
    public let resource: String
    /// `https://login.microsoftonline.com`, or the injected one (tests, sovereign clouds).
    public let authority: String
    /// Where tokens are kept between calls.
    public let cache: TokenCache

    /// Creates a source; nothing is asked until `token(now:)`.
    public init(
        tenantID: String, clientID: String, secret: Redacted<String>, resource: String, authority: String = azurePublicAuthority,
        cache: TokenCache = .shared
    ) {
        self.tenantID = tenantID
        self.clientID = clientID
        self.secret = secret
        self.resource = resource
        self.authority = AzureTokenEndpoint.trimmed(authority)
        self.cache = cache
    }

    private var identity: String { "azure secret \(authority) \(tenantID) \(clientID) \(resource)" }

    /// Drops the cached token.
    public func forgetToken() { cache.forget(identity) }

    /// A cached token while it is fresh, else a new one from Entra ID.
    public func token(now: Date) throws(SnapfleetError) -> AccessToken {
        try cache.token(for: identity, now: now) { () throws(SnapfleetError) in
            try AzureTokenEndpoint.clientCredentials(
                authority: authority, tenantID: tenantID, clientID: clientID, resource: resource, now: now
            ) { _ throws(SnapfleetError) in [("client_secret", secret.value)] }
        }
    }
}

/// Tokens of an app registration with a certificate: the client-credentials grant with a client
/// assertion (an RS256 JWT naming the certificate by its SHA-1 thumbprint), as MSAL makes it.
public struct AzureClientCertificateTokens: AccessTokenSource {
    /// The directory (tenant) id.
    public let tenantID: String
    /// The application (client) id.
    public let clientID: String
    /// The certificate registered for the application, with its private key.
    public let certificate: AzureClientCertificate
    /// The resource the tokens are for.
    public let resource: String
    /// `https://login.microsoftonline.com`, or the injected one.
    public let authority: String
    /// Where tokens are kept between calls.
    public let cache: TokenCache

    /// How long an assertion is valid: MSAL's ten minutes.
    public static let assertionLifetime = 600

    /// Creates a source; nothing is asked until `token(now:)`.
    public init(
        tenantID: String, clientID: String, certificate: AzureClientCertificate, resource: String, authority: String = azurePublicAuthority,
        cache: TokenCache = .shared
    ) {
        self.tenantID = tenantID
        self.clientID = clientID
        self.certificate = certificate
        self.resource = resource
        self.authority = AzureTokenEndpoint.trimmed(authority)
        self.cache = cache
    }

    private var identity: String { "azure certificate \(authority) \(tenantID) \(clientID) \(certificate.sha1Thumbprint) \(resource)" }

    /// Drops the cached token.
    public func forgetToken() { cache.forget(identity) }

    /// A cached token while it is fresh, else a new one from Entra ID.
    public func token(now: Date) throws(SnapfleetError) -> AccessToken {
        try cache.token(for: identity, now: now) { () throws(SnapfleetError) in
            try AzureTokenEndpoint.clientCredentials(
                authority: authority, tenantID: tenantID, clientID: clientID, resource: resource, now: now
            ) { url throws(SnapfleetError) in
                [
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", try assertion(audience: url, now: now)),
                ]
            }
        }
    }

    /// The client assertion for `audience` (the token URL), as MSAL spells it when given a SHA-1
    /// thumbprint (azure-identity's `CertificateCredential`): header `alg`, `typ`, `x5t` (padded
    /// base64url); claims `aud`, `iss`, `sub`, `exp`, `iat`, `jti`, `nbf`; compact JSON (PyJWT).
    public func assertion(audience: String, now: Date, id: String = UUID().uuidString.lowercased()) throws(SnapfleetError) -> String {
        let issued = Int(now.timeIntervalSince1970)
        return try JSONWebToken.rs256(
            header: [("alg", .string("RS256")), ("typ", .string("JWT")), ("x5t", .string(certificate.paddedSHA1Thumbprint))],
            claims: [
                ("aud", .string(audience)), ("iss", .string(clientID)), ("sub", .string(clientID)),
                ("exp", .integer(issued + Self.assertionLifetime)), ("iat", .integer(issued)), ("jti", .string(id)),
                ("nbf", .integer(issued)),
            ],
            key: certificate.privateKey, spelling: .compact)
    }
}

/// Tokens of the VM's managed identity from the instance metadata service (the controller running
/// on an Azure VM without a secret or certificate).
public struct AzureManagedIdentityTokens: AccessTokenSource {
    /// `http://169.254.169.254`, or the injected one (tests).
    public let endpoint: String
    /// The resource the tokens are for.
    public let resource: String
    /// The client id of a user-assigned identity; nil for the system-assigned one.
    public let clientID: String?
    /// Where tokens are kept between calls.
    public let cache: TokenCache

    /// Creates a source; nothing is asked until `token(now:)`.
    public init(endpoint: String = azureIMDSEndpoint, resource: String, clientID: String? = nil, cache: TokenCache = .shared) {
        self.endpoint = AzureTokenEndpoint.trimmed(endpoint)
        self.resource = resource
        self.clientID = clientID
        self.cache = cache
    }

    private var identity: String { "azure imds \(endpoint) \(clientID ?? "system") \(resource)" }

    /// Drops the cached token.
    public func forgetToken() { cache.forget(identity) }

    /// A cached token while it is fresh, else a new one from IMDS.
    public func token(now: Date) throws(SnapfleetError) -> AccessToken {
        try cache.token(for: identity, now: now) { () throws(SnapfleetError) in
            var query = [("api-version", "2018-02-01"), ("resource", resource)]
            if let clientID { query.append(("client_id", clientID)) }
            let url =
                endpoint + "/metadata/identity/oauth2/token?"
                + query.map { "\(TokenEndpoint.formEncoded($0.0))=\(TokenEndpoint.formEncoded($0.1))" }.joined(separator: "&")
            // Metadata: true proves the request is not a forwarded one (SSRF); IMDS refuses it otherwise.
            let response = try TokenEndpoint.get(url, headers: [("Metadata", "true")], what: "azure imds token request", timeout: .seconds(3))
            return try TokenEndpoint.accessToken(from: response, what: "azure imds \(endpoint)", now: now)
        }
    }
}

/// Entra ID's URL and scope spelling.
enum AzureTokenEndpoint {
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    static func url(authority: String, tenantID: String) -> String {
        "\(authority)/\(TokenEndpoint.formEncoded(tenantID))/oauth2/v2.0/token"
    }

    /// `RESOURCE/.default`: every permission granted to the app on that resource (the only scope
    /// the client-credentials grant accepts).
    static func scope(_ resource: String) -> String {
        (resource.hasSuffix("/") ? resource : resource + "/") + ".default"
    }

    /// The client-credentials grant for `resource`; `credential` gives the fields that prove the
    /// client (a secret, or an assertion made for the token URL it is given).
    static func clientCredentials(
        authority: String, tenantID: String, clientID: String, resource: String, now: Date,
        credential: (String) throws(SnapfleetError) -> [(String, String)]
    ) throws(SnapfleetError) -> AccessToken {
        let url = url(authority: authority, tenantID: tenantID)
        let form = [("grant_type", "client_credentials"), ("client_id", clientID)] + (try credential(url)) + [("scope", scope(resource))]
        let response = try TokenEndpoint.post(url, form: form, what: "azure token request for client \(clientID)")
        return try TokenEndpoint.accessToken(from: response, what: "entra id token endpoint \(url)", now: now)
    }

    /// A base URL without its trailing slash.
    static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
