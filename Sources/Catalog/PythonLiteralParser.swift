import SnapfleetCore

extension PythonLiteral {
    /// The limits that keep parsing untrusted metadata bounded.
    public struct ParseLimits: Sendable {
        /// The longest input accepted, in UTF-8 bytes.
        public var maxLength: Int
        /// The deepest nesting of lists, tuples and dicts accepted.
        public var maxDepth: Int

        /// Limits far above anything barman writes (a `backup.info` is a few KiB).
        public static let standard = ParseLimits(maxLength: 4 << 20, maxDepth: 64)

        /// Creates limits.
        public init(maxLength: Int, maxDepth: Int) {
            self.maxLength = maxLength
            self.maxDepth = maxDepth
        }
    }

    /// Parses what `ast.literal_eval()` would accept for this subset, or throws `invalid_body`
    /// naming the UTF-8 byte offset of the problem (`invalid python literal at offset 12: …`).
    public init(parsing text: String, limits: ParseLimits = .standard) throws {
        var parser = PythonLiteralParser(text, limits: limits)
        do {
            self = try parser.parseDocument()
        } catch let failure as PythonLiteralParser.Failure {
            throw CatalogErrors.invalid("invalid python literal at offset \(failure.offset): \(failure.reason)")
        }
    }
}

/// A recursive-descent parser over UTF-8 bytes; every failure is a thrown `Failure`, never a trap.
struct PythonLiteralParser {
    /// Where and why parsing stopped.
    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    let bytes: [UInt8]
    let limits: PythonLiteral.ParseLimits
    var position = 0
    var depth = 0

    init(_ text: String, limits: PythonLiteral.ParseLimits) {
        bytes = Array(text.utf8)
        self.limits = limits
    }

    /// One value, surrounded by optional whitespace and nothing else.
    mutating func parseDocument() throws -> PythonLiteral {
        guard bytes.count <= limits.maxLength else {
            throw Failure(offset: limits.maxLength, reason: "longer than \(limits.maxLength) bytes")
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected \(describeCurrent()) after the value") }
        return value
    }

    /// Any value, dispatched on its first byte.
    mutating func parseValue() throws -> PythonLiteral {
        guard let byte = current else { throw fail("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "["): return .list(try parseSequence(closing: UInt8(ascii: "]")).items)
        case UInt8(ascii: "("): return try parseParenthesized()
        case UInt8(ascii: "{"): return try parseDict()
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseStrings())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseSignedNumber()
        default: return try parseWord()
        }
    }

    /// `None`, `True`, `False`, or a prefixed string (`u'…'`, `r'…'`).
    mutating func parseWord() throws -> PythonLiteral {
        let start = position
        while let byte = current, isIdentifierByte(byte) { position += 1 }
        let word = String(decoding: bytes[start..<position], as: UTF8.self)
        if let quote = current, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") {
            switch word {
            case "u", "U", "r", "R":
                position = start
                return .string(try parseStrings())
            default:
                throw Failure(offset: start, reason: "unsupported string prefix '\(CatalogErrors.preview(word))'")
            }
        }
        switch word {
        case "None": return .none
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "": throw fail("unexpected \(describeCurrent())")
        default: throw Failure(offset: start, reason: "unexpected name '\(CatalogErrors.preview(word))'")
        }
    }

    /// `( … )`: a tuple, or just a parenthesized value when there is one item and no comma.
    mutating func parseParenthesized() throws -> PythonLiteral {
        let (items, sawComma) = try parseSequence(closing: UInt8(ascii: ")"))
        return items.count == 1 && !sawComma ? items[0] : .tuple(items)
    }

    /// Comma-separated values up to `closing` (a trailing comma is allowed, as in Python).
    mutating func parseSequence(closing: UInt8) throws -> (items: [PythonLiteral], sawComma: Bool) {
        try enterContainer()
        defer { depth -= 1 }
        var items: [PythonLiteral] = []
        var sawComma = false
        skipWhitespace()
        while current != closing {
            items.append(try parseValue())
            skipWhitespace()
            guard try consumeSeparator(closing: closing) else { break }
            sawComma = true
        }
        try expect(closing)
        return (items, sawComma)
    }

    /// `{key: value, …}`; a repeated key keeps its first position and takes the last value, as in Python.
    mutating func parseDict() throws -> PythonLiteral {
        try enterContainer()
        defer { depth -= 1 }
        var entries: [PythonLiteral.DictEntry] = []
        skipWhitespace()
        while current != UInt8(ascii: "}") {
            let key = try parseValue()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let value = try parseValue()
            if let index = entries.firstIndex(where: { $0.key == key }) {
                entries[index].value = value
            } else {
                entries.append(.init(key, value))
            }
            skipWhitespace()
            guard try consumeSeparator(closing: UInt8(ascii: "}")) else { break }
        }
        try expect(UInt8(ascii: "}"))
        return .dict(entries)
    }

    /// After an item: a comma (true, more may follow) or the closing bracket (false, not consumed).
    mutating func consumeSeparator(closing: UInt8) throws -> Bool {
        guard let byte = current else { throw fail("unexpected end of input, expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
        if byte == closing { return false }
        guard byte == UInt8(ascii: ",") else {
            throw fail("unexpected \(describeCurrent()), expected ',' or '\(Character(Unicode.Scalar(closing)))'")
        }
        position += 1
        skipWhitespace()
        return true
    }

    /// Consumes an opening bracket, refusing to nest deeper than the limit.
    mutating func enterContainer() throws {
        guard depth < limits.maxDepth else { throw fail("nesting deeper than \(limits.maxDepth) levels") }
        depth += 1
        position += 1
    }

    /// Consumes `byte` or throws.
    mutating func expect(_ byte: UInt8) throws {
        guard let found = current else {
            throw fail("unexpected end of input, expected '\(Character(Unicode.Scalar(byte)))'")
        }
        guard found == byte else {
            throw fail("unexpected \(describeCurrent()), expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    /// Spaces, tabs, form feeds and line breaks between tokens.
    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
            position += 1
        }
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    func isIdentifierByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    /// The current byte for a message: a printable character in quotes, else its hex value.
    func describeCurrent() -> String {
        guard let byte = current else { return "end of input" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    func fail(_ reason: String) -> Failure { Failure(offset: position, reason: reason) }
}
