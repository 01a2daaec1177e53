extension PythonLiteralParser {
    /// An `int` or `float` with at most one sign, as `literal_eval` accepts (`-1`, `+2.5`, `- 3`).
    mutating func parseSignedNumber() throws -> PythonLiteral {
        var negative = false
        if let sign = current, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            position += 1
            skipWhitespace()
        }
        guard let first = current, isDigit(first) || first == UInt8(ascii: ".") else {
            throw fail("unexpected \(describeCurrent()), expected a number")
        }
        return try parseNumber(negative: negative)
    }

    /// The digits of a decimal `int` or a `float` (`12`, `1.5`, `.5`, `1.`, `1e-05`).
    mutating func parseNumber(negative: Bool) throws -> PythonLiteral {
        let start = position
        let wholeDigits = skipDigits()
        var isFloat = false
        if current == UInt8(ascii: ".") {
            position += 1
            isFloat = true
            guard skipDigits() > 0 || wholeDigits > 0 else { throw Failure(offset: start, reason: "invalid number") }
        }
        if let byte = current, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            try skipExponent()
            isFloat = true
        }
        if let byte = current, isIdentifierByte(byte) {
            throw fail("unsupported number syntax (only decimal int and float literals are accepted)")
        }
        let text = (negative ? "-" : "") + String(decoding: bytes[start..<position], as: UTF8.self)
        return isFloat ? try makeFloat(text, at: start) : try makeInt(text, digits: wholeDigits, at: start)
    }

    /// `e`, an optional sign and at least one digit.
    mutating func skipExponent() throws {
        position += 1
        if let sign = current, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { position += 1 }
        guard skipDigits() > 0 else { throw fail("invalid exponent in a float literal") }
    }

    /// Skips ASCII digits and returns how many there were.
    mutating func skipDigits() -> Int {
        let start = position
        while let byte = current, isDigit(byte) { position += 1 }
        return position - start
    }

    func makeInt(_ text: String, digits: Int, at start: Int) throws -> PythonLiteral {
        // Python refuses `012` (it was octal in Python 2) but accepts `00`.
        let body = text.drop { $0 == "-" }
        if digits > 1, body.first == "0", body.contains(where: { $0 != "0" }) {
            throw Failure(offset: start, reason: "leading zeros in a decimal integer are not permitted")
        }
        guard let value = Int(text) else { throw Failure(offset: start, reason: "integer out of the 64-bit range") }
        return .int(value)
    }

    func makeFloat(_ text: String, at start: Int) throws -> PythonLiteral {
        guard let value = Double(text), value.isFinite else {
            throw Failure(offset: start, reason: "float literal out of range")
        }
        return .float(value)
    }

    func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
