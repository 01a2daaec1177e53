import SnapfleetCore
import TokenSigning

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A Google service-account key file (`"type": "service_account"`, as the console downloads it).
///
/// The private key is held as an `RSAPrivateKey` and never printed; errors name the file and the
/// field, never a value.
public struct GoogleServiceAccountKey: Sendable, CustomStringConvertible {
    /// `name@project.iam.gserviceaccount.com`: the JWT issuer and the signed URLs' credential.
    public let clientEmail: String
    /// The key's id (the JWT's `kid`).
    public let privateKeyID: String
    /// The key itself.
    public let privateKey: RSAPrivateKey
    /// Where the JWT is exchanged for a token (`https://oauth2.googleapis.com/token`).
    public let tokenURI: String
    /// The project the key belongs to, if the file says.
    public let projectID: String?

    /// Reads a key file's JSON.
    public init(json: [UInt8], origin: String) throws(SnapfleetError) {
        let file: KeyFile
        do { file = try JSONDecoder().decode(KeyFile.self, from: Data(json)) } catch {
            throw SnapfleetError(
                .invalidConfiguration,
                "\(origin) is not a google service-account key file: \((error as? DecodingError).map { DecodingErrorText.describe($0) } ?? "not JSON")",
                hint: "download a JSON key for the service account")
        }
        guard file.type == "service_account" else {
            throw SnapfleetError(
                .invalidConfiguration, "\(origin) holds credentials of type '\(file.type)', not service_account",
                hint: "user credentials (gcloud auth application-default) cannot sign URLs; use a service-account key")
        }
        clientEmail = file.clientEmail
        privateKeyID = file.privateKeyID
        privateKey = try RSAPrivateKey(pem: file.privateKey)
        tokenURI = file.tokenURI ?? "https://oauth2.googleapis.com/token"
        projectID = file.projectID
    }

    /// Reads the key file at `path`.
    public static func load(path: String) throws(SnapfleetError) -> GoogleServiceAccountKey {
        let bytes: [UInt8]
        do { bytes = try PosixFiles.readAll(path) } catch {
            throw SnapfleetError(.invalidConfiguration, "cannot read google credentials \(path): \(error.message)")
        }
        return try GoogleServiceAccountKey(json: bytes, origin: path)
    }

    /// `service account <email>`.
    public var description: String { "service account \(clientEmail)" }

    private struct KeyFile: Decodable {
        var type: String
        var clientEmail: String
        var privateKeyID: String
        var privateKey: String
        var tokenURI: String?
        var projectID: String?

        enum CodingKeys: String, CodingKey {
            case type
            case clientEmail = "client_email"
            case privateKeyID = "private_key_id"
            case privateKey = "private_key"
            case tokenURI = "token_uri"
            case projectID = "project_id"
        }
    }
}
