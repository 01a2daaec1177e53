import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where the controller's Azure identity comes from; every field is optional.
public struct AzureCredentialSettings: Sendable, Equatable {
    /// The directory (tenant) id of the app registration.
    public var tenantID: String?
    /// The app registration's application (client) id.
    public var clientID: String?
    /// A file holding the client secret (its first line); else `AZURE_CLIENT_SECRET` is read.
    public var clientSecretFile: String?
    /// A PEM file with the app's certificate and private key; preferred to a secret.
    public var clientCertificateFile: String?
    /// The Entra ID authority; default `https://login.microsoftonline.com`.
    public var authority: String?
    /// The instance metadata service; default `http://169.254.169.254`.
    public var imdsEndpoint: String?
    /// A user-assigned managed identity's client id; nil for the VM's system-assigned identity.
    public var managedIdentityClientID: String?

    /// Creates settings; with no tenant and client id the VM's managed identity is used.
    public init(
        tenantID: String? = nil, clientID: String? = nil, clientSecretFile: String? = nil, clientCertificateFile: String? = nil,
        authority: String? = nil, imdsEndpoint: String? = nil, managedIdentityClientID: String? = nil
    ) {
        self.tenantID = tenantID
        self.clientID = clientID
        self.clientSecretFile = clientSecretFile
        self.clientCertificateFile = clientCertificateFile
        self.authority = authority
        self.imdsEndpoint = imdsEndpoint
        self.managedIdentityClientID = managedIdentityClientID
    }
}

/// Azure credentials chosen from settings: a certificate, else a client secret (a file, else
/// `AZURE_CLIENT_SECRET`) when a tenant and client id are set, else the VM's managed identity.
public enum AzureCredentials {
    /// The environment variable a client secret may come from (azure-identity's name).
    public static let secretVariable = "AZURE_CLIENT_SECRET"

    /// The token source for `resource` (`azureManagementResource`, `azureStorageResource`).
    public static func tokens(
        _ settings: AzureCredentialSettings, resource: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(SnapfleetError) -> any AccessTokenSource {
        let authority = settings.authority ?? azurePublicAuthority
        let tenant = settings.tenantID.flatMap { $0.isEmpty ? nil : $0 }
        let client = settings.clientID.flatMap { $0.isEmpty ? nil : $0 }
        guard let tenant, let client else {
            guard settings.clientSecretFile == nil, settings.clientCertificateFile == nil, tenant == nil, client == nil else {
                throw SnapfleetError(
                    .invalidConfiguration, "azure credentials need both a tenant id and a client id",
                    hint: "set both, or neither to use the vm's managed identity")
            }
            return AzureManagedIdentityTokens(
                endpoint: settings.imdsEndpoint ?? azureIMDSEndpoint, resource: resource, clientID: settings.managedIdentityClientID)
        }
        if let path = settings.clientCertificateFile {
            return AzureClientCertificateTokens(
                tenantID: tenant, clientID: client, certificate: try AzureClientCertificate.load(path: path), resource: resource,
                authority: authority)
        }
        guard let secret = try clientSecret(file: settings.clientSecretFile, environment: environment) else {
            throw SnapfleetError(
                .invalidConfiguration, "azure client \(client) has no secret or certificate",
                hint: "set a client secret file or certificate file, or \(secretVariable) in the controller's environment")
        }
        return AzureClientSecretTokens(tenantID: tenant, clientID: client, secret: secret, resource: resource, authority: authority)
    }

    /// The client secret: the first line of `file` when given, else `AZURE_CLIENT_SECRET`, else
    /// nil. Errors name the file or the variable, never the value.
    public static func clientSecret(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(SnapfleetError) -> Redacted<String>? {
        if let file {
            let bytes: [UInt8]
            do { bytes = try PosixFiles.readAll(file) } catch {
                throw SnapfleetError(.invalidConfiguration, "cannot read azure client secret file \(file): \(error.message)")
            }
            // The first line, so that a trailing newline (echo > file) is not part of the secret.
            let text = String(decoding: bytes, as: UTF8.self)
            var line = text.prefix { !$0.isNewline }
            while line.last?.isWhitespace == true { line.removeLast() }
            while line.first?.isWhitespace == true { line.removeFirst() }
            guard !line.isEmpty else { throw SnapfleetError(.invalidConfiguration, "azure client secret file \(file) is empty") }
            return Redacted(String(line))
        }
        guard let value = environment[secretVariable] else { return nil }
        guard !value.isEmpty else { throw SnapfleetError(.invalidConfiguration, "\(secretVariable) is set but empty") }
        return Redacted(value)
    }
}
