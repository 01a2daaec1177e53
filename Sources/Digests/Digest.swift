/// The output of a hash function or MAC: raw bytes with a lowercase hex form.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    /// The digest's bytes (32 for SHA-256 and HMAC-SHA256, 16 for MD5).
    public let bytes: [UInt8]

    /// Wraps digest bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The lowercase hexadecimal form, as SigV4 and most checksum files spell digests.
    public var hex: String { Hex.lowercase(bytes) }

    /// The number of bytes.
    public var count: Int { bytes.count }

    /// The lowercase hex form.
    public var description: String { hex }
}

/// Hexadecimal encoding.
public enum Hex {
    /// `bytes` as lowercase hexadecimal, two characters a byte.
    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
