import Digests
import SnapfleetCore

/// SHA-256 and HMAC-SHA256 with `DigestError` mapped to `SnapfleetError`.
enum Hashing {
    /// The lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(_ bytes: some Sequence<UInt8>) throws(SnapfleetError) -> String {
        do {
            return try SHA256.hash(bytes).hex
        } catch {
            throw failure(error)
        }
    }

    /// HMAC-SHA256 of `message` under `key`.
    static func hmac(_ message: some Sequence<UInt8>, key: some Sequence<UInt8>) throws(SnapfleetError) -> [UInt8] {
        do {
            return try HMACSHA256.authenticate(message: message, key: key).bytes
        } catch {
            throw failure(error)
        }
    }

    /// OpenSSL's error text only: no key or message ever reaches it.
    private static func failure(_ error: DigestError) -> SnapfleetError {
        SnapfleetError(.internalError, "sigv4 signing failed: \(error)")
    }
}
