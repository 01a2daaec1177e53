import SnapfleetCore

/// A message's identifier, unique per sender: 1–64 characters of `[A-Za-z0-9_-]`.
public struct MessageID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The identifier text.
    public let rawValue: String

    /// Wraps an identifier, refusing one that is empty, too long or has other characters.
    public init(_ rawValue: String) throws(SnapfleetError) {
        guard Self.isValid(rawValue) else {
            throw SnapfleetError(.malformedMessage, "message id must be 1-\(ProtocolLimits.maxMessageIDLength) characters of [A-Za-z0-9_-]")
        }
        self.rawValue = rawValue
    }

    /// A fresh random identifier (128 bits, hex).
    public static func random() -> MessageID {
        var generator = SystemRandomNumberGenerator()
        let bits = (0..<2).map { _ in generator.next() as UInt64 }
        let hex = bits.map { String($0, radix: 16) }.map { String(repeating: "0", count: 16 - $0.count) + $0 }
        return MessageID(unchecked: hex.joined())
    }

    /// Whether `text` is a valid message id.
    public static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= ProtocolLimits.maxMessageIDLength
            && text.utf8.allSatisfy { Wire.isIdentifierByte($0) || $0 == UInt8(ascii: "-") }
    }

    private init(unchecked: String) { rawValue = unchecked }

    /// Decodes and validates the identifier.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// Encodes the bare identifier.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The identifier text.
    public var description: String { rawValue }
}
