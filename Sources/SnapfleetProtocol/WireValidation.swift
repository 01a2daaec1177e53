import SnapfleetCore

/// Checks on the values messages carry, shared by every body's `validate()`.
///
/// JSON decoding proves the types; these prove the values are safe to use: names that
/// become object-store keys, labels that are written into `backup_label`, bounded text.
public enum Wire {
    /// Whether the byte is an ASCII letter, digit or underscore.
    public static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }

    /// Whether the byte is one of `0`–`9`.
    public static func isDigitByte(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Whether the byte is one of `0`–`9`, `A`–`F`, `a`–`f`.
    public static func isHexByte(_ byte: UInt8) -> Bool {
        isDigitByte(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    /// A server name: 1–64 characters of `[A-Za-z0-9_.-]`, starting with a letter or digit.
    public static func checkServerName(_ name: String, field: String = "server") throws(SnapfleetError) {
        let bytes = Array(name.utf8)
        let valid =
            !bytes.isEmpty && bytes.count <= 64 && isIdentifierByte(bytes[0]) && bytes[0] != UInt8(ascii: "_")
            && bytes.allSatisfy { isIdentifierByte($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        guard valid else {
            throw SnapfleetError(.invalidBody, "\(field) must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit")
        }
    }

    /// A backup id in barman-cloud's form, `YYYYMMDDTHHMMSS`.
    public static func checkBackupID(_ id: String) throws(SnapfleetError) {
        let bytes = Array(id.utf8)
        let digits = bytes.enumerated().allSatisfy { index, byte in
            index == 8 ? byte == UInt8(ascii: "T") : isDigitByte(byte)
        }
        guard bytes.count == 15, digits else {
            throw SnapfleetError(.invalidBody, "backup_id must have the form YYYYMMDDTHHMMSS")
        }
    }

    /// Free text that ends up in a file or a log line: bounded and without control characters
    /// (a newline in a backup label would add lines to `backup_label`).
    public static func checkText(_ text: String, field: String, maxLength: Int = ProtocolLimits.maxTextLength) throws(SnapfleetError) {
        guard text.utf8.count <= maxLength else {
            throw SnapfleetError(.invalidBody, "\(field) is longer than \(maxLength) bytes")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw SnapfleetError(.invalidBody, "\(field) must not contain control characters")
        }
    }

    /// Text made fit for `checkText`: control characters become spaces, then it is cut to length.
    public static func sanitized(_ text: String, maxLength: Int = ProtocolLimits.maxTextLength) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        var result = String(scalars)
        while result.utf8.count > maxLength { result.removeLast() }
        return result
    }

    /// A number within a closed range.
    public static func checkRange<T: Comparable>(_ value: T, _ range: ClosedRange<T>, field: String) throws(SnapfleetError) {
        guard range.contains(value) else {
            throw SnapfleetError(.invalidBody, "\(field) must be between \(range.lowerBound) and \(range.upperBound)")
        }
    }

    /// An absolute path without control characters (reported facts, never used to write).
    public static func checkPath(_ path: String, field: String) throws(SnapfleetError) {
        try checkText(path, field: field)
        guard path.hasPrefix("/") else { throw SnapfleetError(.invalidBody, "\(field) must be an absolute path") }
    }

    /// A device name in one of the `DeviceNaming` forms: `/dev/NAME` with NAME of `[a-z0-9]` only,
    /// a Compute Engine device name, or `lunN`. The agent builds the path from it with a fixed
    /// template, so nothing like `/dev/../etc` or `/dev/disk/by-id/…` may pass.
    public static func checkDeviceName(_ name: String, field: String) throws(SnapfleetError) {
        guard DeviceNaming.allCases.contains(where: { $0.accepts(name) }) else {
            throw SnapfleetError(
                .invalidBody, "\(field) must be /dev/ followed by lower-case letters and digits, a compute engine device name or lunN")
        }
    }

    /// An LSN in PostgreSQL's `X/X` form (1–8 hex digits on each side).
    public static func checkLSN(_ lsn: String, field: String) throws(SnapfleetError) {
        // Bytes, not Characters: a digit followed by a combining mark is one Character.
        let parts = lsn.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let valid =
            parts.count == 2
            && parts.allSatisfy { part in
                (1...8).contains(part.count) && part.allSatisfy(isHexByte)
            }
        guard valid else { throw SnapfleetError(.invalidBody, "\(field) must be an LSN like 0/3000028") }
    }

    /// A WAL file as PostgreSQL names the files it archives: a segment (24 upper-case hex digits),
    /// `<segment>.partial`, `<segment>.<8 hex>.backup`, or `<timeline>.history`.
    public static func checkWALArchiveName(_ name: String, field: String) throws(SnapfleetError) {
        let bytes = Array(name.utf8)
        let isHex = { (slice: ArraySlice<UInt8>) in slice.allSatisfy { isDigitByte($0) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) } }
        let text = { (slice: ArraySlice<UInt8>) in String(decoding: slice, as: UTF8.self) }
        let valid: Bool
        switch bytes.count {
        case 24: valid = isHex(bytes[...])
        case 32: valid = isHex(bytes[0..<24]) && text(bytes[24...]) == ".partial"
        case 40: valid = isHex(bytes[0..<24]) && bytes[24] == UInt8(ascii: ".") && isHex(bytes[25..<33]) && text(bytes[33...]) == ".backup"
        case 16: valid = isHex(bytes[0..<8]) && text(bytes[8...]) == ".history"
        default: valid = false
        }
        guard valid else {
            throw SnapfleetError(.invalidBody, "\(field) must be a WAL file name (segment, .partial, .backup or .history)")
        }
    }

    /// A compression snapfleet writes and reads.
    public static func checkCompression(_ name: String, field: String) throws(SnapfleetError) {
        guard ["none", "gzip", "zstd"].contains(name) else { throw SnapfleetError(.invalidBody, "\(field) must be none, gzip or zstd") }
    }

    /// Exactly `length` lower-case hex digits.
    public static func checkHex(_ text: String, field: String, length: Int) throws(SnapfleetError) {
        let valid = text.utf8.count == length && text.utf8.allSatisfy { isDigitByte($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        guard valid else { throw SnapfleetError(.invalidBody, "\(field) must be \(length) lower-case hex digits") }
    }

    /// A WAL segment name: 24 upper-case hex digits.
    public static func checkWALFileName(_ name: String, field: String) throws(SnapfleetError) {
        let valid = name.utf8.count == 24 && name.utf8.allSatisfy { isDigitByte($0) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }
        guard valid else { throw SnapfleetError(.invalidBody, "\(field) must be a 24-digit WAL file name") }
    }
}
