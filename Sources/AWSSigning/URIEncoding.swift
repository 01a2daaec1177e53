/// Percent-encoding exactly as SigV4 defines it (RFC 3986 with `-_.~` unreserved), which differs
/// from Foundation's `URLComponents` (it leaves `+`, `=`, `:` and others alone in places).
public enum URIEncoding {
    /// `text`'s UTF-8 bytes with every byte except `A–Z a–z 0–9 - _ . ~` (and `/` when
    /// `keepingSlashes`) written as `%XX` with uppercase hex digits.
    public static func encode(_ text: some StringProtocol, keepingSlashes: Bool = false) -> String {
        encode(bytes: Array(text.utf8), keepingSlashes: keepingSlashes)
    }

    /// The bytes of `text` with its `%XX` escapes decoded, or nil when an escape is malformed.
    ///
    /// `+` stays `+`: SigV4 signs RFC 3986 query strings, not HTML form encoding.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var decoded: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else { return nil }
            decoded.append(high << 4 | low)
        }
        return decoded
    }

    /// Encodes raw bytes (see `encode(_:keepingSlashes:)`).
    static func encode(bytes: some Sequence<UInt8>, keepingSlashes: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                encoded.append(byte)
            } else {
                encoded += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// RFC 3986 section 2.3 unreserved characters.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// The value of one hex digit of either case.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
