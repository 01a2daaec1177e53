import SnapfleetCore

/// Builds the errors of this module: every refusal of a metadata file or name is `invalid_body`.
///
/// A dedicated `corrupt_metadata` code was considered, but error codes are part of the wire
/// contract (`proto/schemas/common.json` lists them and a test pins the list), so this module
/// reuses the code whose meaning already covers "wrong key, type or value".
enum CatalogErrors {
    /// An error with `invalid_body` and the given message.
    static func invalid(_ message: String) -> SnapfleetError {
        SnapfleetError(.invalidBody, message)
    }

    /// A short, printable preview of untrusted text for an error message.
    static func preview(_ text: some StringProtocol, limit: Int = 40) -> String {
        let clipped = text.unicodeScalars.prefix(limit)
        let printable = clipped.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined()
        return text.unicodeScalars.count > limit ? printable + "…" : printable
    }
}
