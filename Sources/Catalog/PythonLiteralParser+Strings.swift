extension PythonLiteralParser {
    /// One string literal, or several adjacent ones joined as Python joins them (`'a' 'b'` is `'ab'`).
    mutating func parseStrings() throws -> String {
        var text = try parseOneString()
        while true {
            let resume = position
            skipWhitespace()
            guard startsString() else {
                position = resume
                return text
            }
            text += try parseOneString()
        }
    }

    /// Whether a string literal (with an optional `u`/`r` prefix) starts here.
    func startsString() -> Bool {
        guard let byte = current else { return false }
        if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") { return true }
        let prefixes: [UInt8] = Array("uUrR".utf8)
        guard prefixes.contains(byte), position + 1 < bytes.count else { return false }
        return bytes[position + 1] == UInt8(ascii: "'") || bytes[position + 1] == UInt8(ascii: "\"")
    }

    /// `'…'`, `"…"`, `'''…'''` or `"""…"""`, optionally prefixed by `u` or `r` (raw).
    mutating func parseOneString() throws -> String {
        let start = position
        var raw = false
        if let byte = current, byte != UInt8(ascii: "'") && byte != UInt8(ascii: "\"") {
            raw = byte == UInt8(ascii: "r") || byte == UInt8(ascii: "R")
            position += 1
        }
        let quote = bytes[position]
        let triple = position + 2 < bytes.count && bytes[position + 1] == quote && bytes[position + 2] == quote
        position += triple ? 3 : 1
        var content: [UInt8] = []
        while try !atClosingQuote(quote, triple: triple, start: start) {
            try appendNext(to: &content, raw: raw, triple: triple, start: start)
        }
        return String(decoding: content, as: UTF8.self)
    }

    /// Consumes the closing quote(s) if they are next; throws at the end of the input.
    mutating func atClosingQuote(_ quote: UInt8, triple: Bool, start: Int) throws -> Bool {
        guard let byte = current else { throw Failure(offset: start, reason: "unterminated string") }
        guard byte == quote else { return false }
        if !triple {
            position += 1
            return true
        }
        guard position + 2 < bytes.count, bytes[position + 1] == quote, bytes[position + 2] == quote else {
            return false
        }
        position += 3
        return true
    }

    /// One byte of content, or one escape sequence.
    mutating func appendNext(to content: inout [UInt8], raw: Bool, triple: Bool, start: Int) throws {
        let byte = bytes[position]
        if !triple && (byte == 0x0A || byte == 0x0D) {
            throw Failure(offset: start, reason: "unterminated string (line break before the closing quote)")
        }
        position += 1
        guard byte == UInt8(ascii: "\\") else {
            content.append(byte)
            return
        }
        guard let next = current else { throw Failure(offset: start, reason: "unterminated string") }
        if raw {
            // In a raw string a backslash stays, and it keeps the next character (even a quote) literal.
            content.append(byte)
            content.append(next)
            position += 1
            return
        }
        try appendEscape(to: &content)
    }

    /// The escape sequence after a backslash (Python's rules; unknown escapes keep their backslash).
    mutating func appendEscape(to content: inout [UInt8]) throws {
        let escapeStart = position - 1
        let next = bytes[position]
        position += 1
        if let simple = Self.simpleEscapes[next] {
            content.append(contentsOf: simple)
            return
        }
        switch next {
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            position -= 1
            append(try readCodePoint(radix: 8, maxDigits: 3, minDigits: 1, at: escapeStart), to: &content)
        case UInt8(ascii: "x"): append(try readCodePoint(radix: 16, maxDigits: 2, minDigits: 2, at: escapeStart), to: &content)
        case UInt8(ascii: "u"): append(try readCodePoint(radix: 16, maxDigits: 4, minDigits: 4, at: escapeStart), to: &content)
        case UInt8(ascii: "U"): append(try readCodePoint(radix: 16, maxDigits: 8, minDigits: 8, at: escapeStart), to: &content)
        case UInt8(ascii: "N"): throw Failure(offset: escapeStart, reason: "\\N{…} escapes are not supported")
        case 0x0D:
            // A backslash before a line break continues the line (CRLF counts as one break).
            if current == 0x0A { position += 1 }
        default:
            content.append(UInt8(ascii: "\\"))
            position -= 1
        }
    }

    /// Escapes that stand for fixed bytes; a backslash-newline stands for nothing.
    static let simpleEscapes: [UInt8: [UInt8]] = [
        UInt8(ascii: "\\"): [0x5C], UInt8(ascii: "'"): [0x27], UInt8(ascii: "\""): [0x22],
        UInt8(ascii: "a"): [0x07], UInt8(ascii: "b"): [0x08], UInt8(ascii: "f"): [0x0C],
        UInt8(ascii: "n"): [0x0A], UInt8(ascii: "r"): [0x0D], UInt8(ascii: "t"): [0x09],
        UInt8(ascii: "v"): [0x0B], 0x0A: [],
    ]

    /// Reads the digits of a numeric escape and checks the code point is a Unicode scalar.
    mutating func readCodePoint(radix: UInt32, maxDigits: Int, minDigits: Int, at escapeStart: Int) throws -> Unicode.Scalar {
        var value: UInt32 = 0
        var count = 0
        while count < maxDigits, let byte = current, let digit = digitValue(byte), digit < radix {
            value = value * radix + digit
            count += 1
            position += 1
        }
        guard count >= minDigits else {
            throw Failure(offset: escapeStart, reason: "truncated escape: \(minDigits) digits expected")
        }
        if (0xD800...0xDFFF).contains(value) {
            throw Failure(offset: escapeStart, reason: "lone surrogate escapes are not supported")
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw Failure(offset: escapeStart, reason: "escape beyond the Unicode range")
        }
        return scalar
    }

    func digitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    func append(_ scalar: Unicode.Scalar, to content: inout [UInt8]) {
        content.append(contentsOf: Array(String(scalar).utf8))
    }
}
