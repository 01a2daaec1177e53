/// Decodes the kernel's mountinfo escapes: `\` plus three octal digits is one byte.
///
/// The kernel writes a space as `\040`, a tab as `\011`, a newline as `\012` and a backslash
/// as `\134`; libmount decodes any such triple, and so do we. Anything else is kept as is.
enum OctalEscapes {
    /// The decoded text (bytes that are not UTF-8 become U+FFFD).
    static func decode(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "\\")) else { return String(text) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if let value = escapedByte(in: bytes, at: index) {
                decoded.append(value)
                index += 4
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// The byte that `\ooo` at `index` stands for, if an escape starts there.
    private static func escapedByte(in bytes: [UInt8], at index: Int) -> UInt8? {
        guard bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count else { return nil }
        let digits = bytes[(index + 1)...(index + 3)]
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) else { return nil }
        // Like libmount, keep only the low 8 bits of `\777`-style values.
        let value = digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
        return UInt8(truncatingIfNeeded: value)
    }
}
