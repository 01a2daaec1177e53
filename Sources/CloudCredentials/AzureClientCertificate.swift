import SnapfleetCore
import TokenSigning

/// An Entra ID application's certificate credential: one PEM file with the certificate and its
/// unencrypted private key (as `az ad sp create-for-rbac --create-cert` writes it).
///
/// The key is held as an `RSAPrivateKey` and never printed; errors name the file, never its text.
public struct AzureClientCertificate: Sendable, CustomStringConvertible {
    /// The certificate (its thumbprint names it to Entra ID).
    public let certificate: PEMCertificate
    /// Its private key, which signs the client assertions.
    public let privateKey: RSAPrivateKey
    /// The base64url SHA-1 thumbprint (`x5t`), without padding.
    public let sha1Thumbprint: String

    /// Reads the certificate and the key from one PEM text; `origin` names it in errors.
    public init(pem: String, origin: String) throws(SnapfleetError) {
        do throws(SnapfleetError) {
            certificate = try PEMCertificate(pem: pem)
            privateKey = try RSAPrivateKey(pem: pem)
        } catch {
            throw SnapfleetError(
                error.code, "\(origin): \(error.message)",
                hint: "the file must hold the certificate and its unencrypted RSA private key, both as PEM")
        }
        sha1Thumbprint = try certificate.sha1Thumbprint()
    }

    /// Reads the PEM file at `path`.
    public static func load(path: String) throws(SnapfleetError) -> AzureClientCertificate {
        let bytes: [UInt8]
        do { bytes = try PosixFiles.readAll(path) } catch {
            throw SnapfleetError(.invalidConfiguration, "cannot read azure client certificate \(path): \(error.message)")
        }
        return try AzureClientCertificate(pem: String(decoding: bytes, as: UTF8.self), origin: path)
    }

    /// `x5t` as MSAL sends it: base64url with its `=` padding (Entra ID accepts either).
    public var paddedSHA1Thumbprint: String {
        sha1Thumbprint + String(repeating: "=", count: (4 - sha1Thumbprint.count % 4) % 4)
    }

    /// `certificate <x5t>`: never the key.
    public var description: String { "certificate \(sha1Thumbprint)" }
}
