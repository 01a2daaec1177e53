/// How findmnt (util-linux 2.38) prints a text column such as TARGET.
///
/// barman-cloud runs `findmnt -o TARGET,OPTIONS -n <device>` (the default table output) and
/// stores what it prints, so `.utf8Locale` is the form to record for a host with a UTF-8 locale.
public enum FindmntEncoding: Sendable {
    /// Table output in a UTF-8 locale: control characters, `\` before `x`, and non-printable
    /// characters become `\xHH`; spaces and printable non-ASCII characters stay as they are.
    case utf8Locale
    /// Table output in the C locale: like `.utf8Locale`, but every non-ASCII byte becomes `\xHH`.
    case cLocale
    /// `findmnt -r` output: blanks (`\x20`, `\x09`), `\`, and non-printable or non-ASCII bytes become `\xHH`.
    case raw

    /// `text` as findmnt would print it in this form.
    public func encode(_ text: String) -> String {
        var output = ""
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let length = self == .utf8Locale ? Self.printableScalarLength(bytes, at: index) : 0
            if length > 0 {
                output += String(decoding: bytes[index..<(index + length)], as: UTF8.self)
                index += length
            } else {
                output += mustEscape(bytes, at: index) ? Self.hex(bytes[index]) : String(UnicodeScalar(bytes[index]))
                index += 1
            }
        }
        return output
    }

    /// Whether the byte at `index` (not part of a kept multi-byte character) is written as `\xHH`.
    private func mustEscape(_ bytes: [UInt8], at index: Int) -> Bool {
        let byte = bytes[index]
        let printableASCII = byte >= 0x20 && byte < 0x7f
        switch self {
        case .raw:
            // libsmartcols' fputs_nonblank(): blanks, backslash, and anything not isprint().
            return !printableASCII || byte == 0x20 || byte == UInt8(ascii: "\\")
        case .utf8Locale, .cLocale:
            // mbs_safe_encode(): a backslash only when it could be read as the start of `\x`.
            let startsHexEscape = byte == UInt8(ascii: "\\") && bytes.dropFirst(index + 1).first == UInt8(ascii: "x")
            return !printableASCII || startsHexEscape
        }
    }

    /// The length of a valid, printable multi-byte UTF-8 character at `index`, or 0.
    ///
    /// glibc's `iswprint()` in C.UTF-8 accepts every assigned character except controls and the
    /// line/paragraph separators; Swift's Unicode tables stand in for glibc's here (they can
    /// differ only for characters assigned in a newer Unicode version than glibc knows).
    private static func printableScalarLength(_ bytes: [UInt8], at index: Int) -> Int {
        guard bytes[index] >= 0xc2, let length = sequenceLength(lead: bytes[index]), index + length <= bytes.count
        else { return 0 }
        var decoder = UTF8()
        var iterator = bytes[index..<(index + length)].makeIterator()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator) else { return 0 }
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: return 0
        default: return length
        }
    }

    /// How many bytes a UTF-8 sequence with this lead byte has.
    private static func sequenceLength(lead: UInt8) -> Int? {
        switch lead {
        case 0xc2...0xdf: return 2
        case 0xe0...0xef: return 3
        case 0xf0...0xf4: return 4
        default: return nil
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xf)])"
    }
}
