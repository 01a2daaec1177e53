import Digests
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The first X.509 certificate of a PEM text, as DER, for the thumbprints an Entra ID client
/// assertion names its certificate by.
public struct PEMCertificate: Sendable, Equatable {
    /// The certificate's DER encoding.
    public let der: [UInt8]

    /// Reads the first `BEGIN CERTIFICATE` block; text without one is refused.
    public init(pem: String) throws(SnapfleetError) {
        let begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----"
        guard let start = pem.firstRange(of: begin), let stop = pem[start.upperBound...].firstRange(of: end) else {
            throw SnapfleetError(.invalidConfiguration, "the certificate file holds no PEM certificate (BEGIN CERTIFICATE)")
        }
        let body = pem[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: String(body)), !der.isEmpty else {
            throw SnapfleetError(.invalidConfiguration, "the PEM certificate is not valid base64")
        }
        self.der = Array(der)
    }

    /// `x5t`: the base64url SHA-1 of the DER.
    public func sha1Thumbprint() throws(SnapfleetError) -> String {
        do { return Base64URL.encode(try SHA1.hash(der).bytes) } catch { throw SnapfleetError(.internalError, error.description) }
    }

    /// `x5t#S256`: the base64url SHA-256 of the DER.
    public func sha256Thumbprint() throws(SnapfleetError) -> String {
        do { return Base64URL.encode(try SHA256.hash(der).bytes) } catch { throw SnapfleetError(.internalError, error.description) }
    }
}
