import COpenSSL
import SnapfleetCore

/// An OpenSSL call failed; carries OpenSSL's own error text.
///
/// The hashing primitives report it as OpenSSL's own failure; callers that report to operators
/// wrap it (e.g. as `.internalError`, as `hash(file:)` does).
public struct DigestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being done, lowercase (`sha256 update`, `hmac-sha256`, `random bytes`).
    public var operation: String
    /// OpenSSL's error queue as text, or a fixed phrase when the queue was empty.
    public var reason: String

    /// Creates an error.
    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// `operation failed: reason`.
    public var description: String { "\(operation) failed: \(reason)" }
}

/// Reading OpenSSL's per-thread error queue, right after the failing call (shared with the
/// package's other libcrypto users).
package enum OpenSSLErrors {
    /// Empties the queue so a later failure is not blamed on an older, unrelated error.
    package static func clear() { ERR_clear_error() }

    /// Drains the queue into a `DigestError` for `operation`.
    package static func capture(_ operation: String) -> DigestError {
        var texts: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            texts.append(text(of: code))
        }
        let reason = texts.isEmpty ? "unknown openssl error" : texts.joined(separator: "; ")
        return DigestError(operation: operation, reason: reason)
    }

    /// The text OpenSSL gives one packed error code.
    private static func text(of code: UInt) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(cBuffer: buffer)
    }
}
