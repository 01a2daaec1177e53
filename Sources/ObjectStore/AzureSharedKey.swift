import AWSSigning
import Digests
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A storage account's access key: it signs requests (Shared Key) and service SASs.
///
/// The key is held redacted; `description` names only the account.
public struct AzureSharedKey: Sendable, CustomStringConvertible {
    /// The storage account.
    public let account: String
    private let key: Redacted<[UInt8]>

    /// The key as the portal shows it (base64); anything else is refused without echoing it.
    public init(account: String, base64Key: Redacted<String>) throws(SnapfleetError) {
        guard let bytes = Data(base64Encoded: base64Key.value), !bytes.isEmpty else {
            throw SnapfleetError(.invalidConfiguration, "the access key of storage account \(account) is not base64")
        }
        self.account = account
        key = Redacted(Array(bytes))
    }

    /// `shared key of ACCOUNT`: never the key.
    public var description: String { "shared key of \(account)" }

    /// Base64 HMAC-SHA256 of `text` under the key: a Shared Key or SAS signature.
    func signature(_ text: String) throws(SnapfleetError) -> String {
        try AzureSigning.hmacBase64(text, key: key.value)
    }
}

/// Helpers shared by the Shared Key and SAS signers.
enum AzureSigning {
    /// Base64 HMAC-SHA256 of `text`'s UTF-8 bytes.
    static func hmacBase64(_ text: String, key: [UInt8]) throws(SnapfleetError) -> String {
        do { return Data(try HMACSHA256.authenticate(message: text.utf8, key: key).bytes).base64EncodedString() } catch {
            throw SnapfleetError(.internalError, "azure signature: \(error)")
        }
    }

    /// `%XX` escapes decoded, `+` read as a space (as the storage service decodes query strings).
    static func queryDecoded(_ text: Substring) -> String {
        let bytes = URIEncoding.decode(text.replacing("+", with: "%20")) ?? Array(text.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }
}
