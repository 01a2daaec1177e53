/// A PostgreSQL WAL location (`pg_lsn`): a 64-bit byte position in the write-ahead log.
public struct LSN: RawRepresentable, Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The byte position.
    public let rawValue: UInt64

    /// Wraps a byte position.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses PostgreSQL's text form, two hex numbers of at most 8 digits joined by `/` (`16/B374D848`).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let high = Self.hexWord(parts[0]),
            let low = Self.hexWord(parts[1])
        else { return nil }
        rawValue = UInt64(high) << 32 | UInt64(low)
    }

    /// PostgreSQL's `%X/%X` form: upper-case hex, no leading zeros.
    public var description: String {
        let high = String(UInt32(truncatingIfNeeded: rawValue >> 32), radix: 16, uppercase: true)
        let low = String(UInt32(truncatingIfNeeded: rawValue), radix: 16, uppercase: true)
        return "\(high)/\(low)"
    }

    /// Orders by position.
    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes the text form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let lsn = LSN(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a WAL location: \(text)")
        }
        self = lsn
    }

    /// Encodes the text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// One half of the text form: 1 to 8 hex digits (PostgreSQL accepts either case).
    private static func hexWord(_ text: some StringProtocol) -> UInt32? {
        guard (1...8).contains(text.count), text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt32(text, radix: 16)
    }
}
