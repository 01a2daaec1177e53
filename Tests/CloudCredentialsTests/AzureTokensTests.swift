import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudCredentials

/// The client assertion against MSAL's own (Tests/Fixtures/azure), and the three token sources
/// against the Azure stand-in's Entra ID and IMDS.
@Suite("Azure token sources", .serialized)
struct AzureTokensTests {
    struct Vectors: Decodable {
        struct Assertion: Decodable {
            struct Vector: Decodable {
                var algorithm: String
                var claims: Claims
                var signingInput: String
                var assertion: String

                enum CodingKeys: String, CodingKey {
                    case algorithm, claims, assertion
                    case signingInput = "signing_input"
                }
            }
            struct Claims: Decodable {
                var aud: String
                var iat: Int
                var jti: String
            }
            var certificatePath: String
            var clientID: String
            var tenantID: String
            var tokenEndpoint: String
            var x5t: String
            var vectors: [Vector]

            enum CodingKeys: String, CodingKey {
                case x5t, vectors
                case certificatePath = "certificate_path"
                case clientID = "client_id"
                case tenantID = "tenant_id"
                case tokenEndpoint = "token_endpoint"
            }
        }
        var clientAssertion: Assertion

        enum CodingKeys: String, CodingKey {
            case clientAssertion = "client_assertion"
        }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let vectors: Vectors.Assertion = {
        let data = try! Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/azure/signing-vectors.json"))
        return try! JSONDecoder().decode(Vectors.self, from: data).clientAssertion
    }()

    @Test("the RS256 client assertion is MSAL's, byte for byte")
    func assertionMatchesMSAL() throws {
        let vector = try #require(Self.vectors.vectors.first { $0.algorithm == "RS256" })
        let certificate = try AzureClientCertificate.load(path: Self.root.appendingPathComponent(Self.vectors.certificatePath).path)
        #expect(certificate.sha1Thumbprint == Self.vectors.x5t)
        let tokens = AzureClientCertificateTokens(
            tenantID: Self.vectors.tenantID, clientID: Self.vectors.clientID, certificate: certificate, resource: azureStorageResource,
            cache: TokenCache())
        let assertion = try tokens.assertion(
            audience: vector.claims.aud, now: Date(timeIntervalSince1970: TimeInterval(vector.claims.iat)), id: vector.claims.jti)
        #expect(vector.claims.aud == Self.vectors.tokenEndpoint)
        #expect(assertion.split(separator: ".").prefix(2).joined(separator: ".") == vector.signingInput)
        #expect(assertion == vector.assertion)
        #expect(certificate.description == "certificate \(Self.vectors.x5t)")
    }

    @Test("a certificate file without a key, or without a certificate, is refused naming the file")
    func badCertificateFiles() throws {
        let pem = try String(contentsOf: Self.root.appendingPathComponent(Self.vectors.certificatePath), encoding: .utf8)
        let certificateOnly = String(pem[..<pem.range(of: "-----END CERTIFICATE-----")!.upperBound])
        let noKey = #expect(throws: SnapfleetError.self) { try AzureClientCertificate(pem: certificateOnly, origin: "app.pem") }
        #expect(noKey?.message.hasPrefix("app.pem: the private key is not a readable PEM key") == true, "\(noKey?.message ?? "")")
        let keyOnly = String(pem[pem.range(of: "-----BEGIN PRIVATE KEY-----")!.lowerBound...])
        let noCertificate = #expect(throws: SnapfleetError.self) { try AzureClientCertificate(pem: keyOnly, origin: "app.pem") }
        #expect(noCertificate?.message == "app.pem: the certificate file holds no PEM certificate (BEGIN CERTIFICATE)")
        #expect(noKey?.message.contains("MII") == false && noCertificate?.message.contains("MII") == false, "no PEM text echoed")
    }

    @Test("the client secret comes from its file's first line, else AZURE_CLIENT_SECRET, and never prints")
    func secretSources() throws {
        let directory = try TemporaryDirectory(prefix: "azsecret")
        try "s3cr3t-value \n# comment\n".write(toFile: directory.file("secret"), atomically: true, encoding: .utf8)
        let fromFile = try #require(try AzureCredentials.clientSecret(file: directory.file("secret"), environment: [:]))
        #expect(fromFile.value == "s3cr3t-value")
        #expect("\(fromFile)" == "<redacted>")
        let fromEnvironment = try AzureCredentials.clientSecret(file: nil, environment: ["AZURE_CLIENT_SECRET": "env-secret"])
        #expect(fromEnvironment?.value == "env-secret")
        #expect(try AzureCredentials.clientSecret(file: nil, environment: [:]) == nil)
        try "\n".write(toFile: directory.file("empty"), atomically: true, encoding: .utf8)
        #expect(throws: SnapfleetError.self) { try AzureCredentials.clientSecret(file: directory.file("empty"), environment: [:]) }
        let tokens = try AzureCredentials.tokens(
            AzureCredentialSettings(tenantID: "t", clientID: "c"), resource: azureManagementResource,
            environment: ["AZURE_CLIENT_SECRET": "env-secret-value"])
        #expect(tokens is AzureClientSecretTokens)
        #expect(!"\(tokens)".contains("env-secret-value") && !String(reflecting: tokens).contains("env-secret-value"))
        #expect(
            try AzureCredentials.tokens(AzureCredentialSettings(), resource: azureManagementResource, environment: [:]) is AzureManagedIdentityTokens)
        let half = #expect(throws: SnapfleetError.self) {
            try AzureCredentials.tokens(AzureCredentialSettings(clientID: "c"), resource: azureManagementResource, environment: [:])
        }
        #expect(half?.message == "azure credentials need both a tenant id and a client id")
        let none = #expect(throws: SnapfleetError.self) {
            try AzureCredentials.tokens(AzureCredentialSettings(tenantID: "t", clientID: "c"), resource: azureManagementResource, environment: [:])
        }
        #expect(none?.hint?.contains("AZURE_CLIENT_SECRET") == true)
    }

    @Test(
        "secret, certificate and managed-identity tokens come from the stand-in, cached per identity",
        .requires(AzureStandIn.isAvailable, Comment(rawValue: AzureStandIn.requirement)))
    func tokensFromStandIn() throws {
        let azure = try AzureStandIn.shared()
        let cache = TokenCache()
        let before = try azure.tokensIssued()
        let secret = AzureClientSecretTokens(
            tenantID: azure.tenantID, clientID: azure.clientID, secret: Redacted(azure.clientSecret), resource: azureManagementResource,
            authority: azure.endpoint, cache: cache)
        let first = try secret.token()
        #expect(first.expiresAt.timeIntervalSinceNow > 3000)
        #expect(try secret.token() == first, "cached")
        let certificate = AzureClientCertificateTokens(
            tenantID: azure.tenantID, clientID: azure.certificateClientID, certificate: try AzureClientCertificate.load(path: azure.certificatePath),
            resource: azureStorageResource, authority: azure.endpoint, cache: cache)
        #expect(try certificate.token() != first)
        let imds = AzureManagedIdentityTokens(endpoint: azure.endpoint, resource: azureStorageResource, cache: cache)
        let managed = try imds.token()
        #expect(managed.expiresAt.timeIntervalSinceNow > 3000, "IMDS's expires_in is a string")
        #expect(try azure.tokensIssued() == before + 3)
        let settings = AzureCredentialSettings(
            tenantID: azure.tenantID, clientID: azure.certificateClientID, clientCertificateFile: azure.certificatePath, authority: azure.endpoint)
        #expect(try AzureCredentials.tokens(settings, resource: azureManagementResource).token().value.value.hasPrefix("sftk."))
    }

    @Test(
        "a refused secret or assertion surfaces Entra's AADSTS code, never the secret; IMDS refusals name the error",
        .requires(AzureStandIn.isAvailable, Comment(rawValue: AzureStandIn.requirement)))
    func refusals() throws {
        let azure = try AzureStandIn.shared()
        let wrongSecret = "not-the-secret-\(UUID().uuidString)"
        let secret = AzureClientSecretTokens(
            tenantID: azure.tenantID, clientID: azure.clientID, secret: Redacted(wrongSecret), resource: azureManagementResource,
            authority: azure.endpoint, cache: TokenCache())
        let refused = #expect(throws: SnapfleetError.self) { try secret.token() }
        let message = refused?.description ?? ""
        #expect(message.contains("http 401 (invalid_client: AADSTS7000215: Invalid client secret provided."), "\(message)")
        #expect(!message.contains(wrongSecret) && !message.contains(azure.clientSecret))
        #expect(!message.contains("Trace ID"), "only the description's first line")
        // The vectors' certificate is registered for no app of the stand-in's tenant.
        let stranger = AzureClientCertificateTokens(
            tenantID: azure.tenantID, clientID: azure.certificateClientID,
            certificate: try AzureClientCertificate.load(path: Self.root.appendingPathComponent(Self.vectors.certificatePath).path),
            resource: azureManagementResource, authority: azure.endpoint, cache: TokenCache())
        let unknown = #expect(throws: SnapfleetError.self) { try stranger.token() }
        #expect(unknown?.message.contains("AADSTS700027") == true, "\(unknown?.message ?? "")")
        let wrongResource = AzureManagedIdentityTokens(endpoint: azure.endpoint, resource: "https://vault.azure.net", cache: TokenCache())
        let imds = #expect(throws: SnapfleetError.self) { try wrongResource.token() }
        #expect(imds?.message.contains("http 400 (invalid_resource: AADSTS50001") == true, "\(imds?.message ?? "")")
    }
}
