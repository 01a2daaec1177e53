extension PythonDateTime {
    /// Parses the ISO-like forms barman's reader (`dateutil.parser.parse`) meets in practice:
    /// `YYYY-MM-DD[ |T]HH:MM[:SS[.ffffff]][Z|±HH[:MM[:SS]]|±HHMM]`, or a bare date (midnight).
    public init(parsing text: String) throws {
        var scanner = DateTimeScanner(Array(text.utf8))
        do {
            self = try scanner.parse()
        } catch let failure as DateTimeScanner.Failure {
            throw CatalogErrors.invalid(
                "invalid timestamp '\(CatalogErrors.preview(text))' at offset \(failure.offset): \(failure.reason)")
        }
    }
}

/// A strict left-to-right reader of a timestamp's bytes.
struct DateTimeScanner {
    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parse() throws -> PythonDateTime {
        let year = try number(4, "year", 1...9999)
        try expect("-")
        let month = try number(2, "month", 1...12)
        try expect("-")
        let day = try number(2, "day", 1...CivilDate.daysIn(month: month, year: year))
        var value = PythonDateTime(year: year, month: month, day: day, hour: 0, minute: 0, second: 0, utcOffset: nil)
        guard position < bytes.count else { return value }
        guard bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "T") else {
            throw fail("expected ' ' or 'T' between date and time")
        }
        position += 1
        try parseTime(into: &value)
        value.utcOffset = try parseOffset()
        guard position == bytes.count else { throw fail("unexpected text after the timestamp") }
        return value
    }

    mutating func parseTime(into value: inout PythonDateTime) throws {
        value.hour = try number(2, "hour", 0...23)
        try expect(":")
        value.minute = try number(2, "minute", 0...59)
        guard consume(":") else { return }
        value.second = try number(2, "second", 0...59)
        guard consume(".") else { return }
        let start = position
        while position < bytes.count, position - start < 6, isDigit(bytes[position]) { position += 1 }
        guard position > start else { throw fail("expected fractional seconds") }
        let digits = String(decoding: bytes[start..<position], as: UTF8.self)
        value.microsecond = Int(digits + String(repeating: "0", count: 6 - digits.count))!
    }

    mutating func parseOffset() throws -> Int? {
        guard position < bytes.count else { return nil }
        if consume("Z") { return 0 }
        let sign: Int
        if consume("+") { sign = 1 } else if consume("-") { sign = -1 } else { throw fail("expected a UTC offset") }
        let hours = try number(2, "offset hours", 0...23)
        var minutes = 0
        var seconds = 0
        let colon = consume(":")
        if position < bytes.count { minutes = try number(2, "offset minutes", 0...59) }
        if colon, consume(":") { seconds = try number(2, "offset seconds", 0...59) }
        return sign * (hours * 3600 + minutes * 60 + seconds)
    }

    mutating func number(_ width: Int, _ what: String, _ range: ClosedRange<Int>) throws -> Int {
        guard position + width <= bytes.count, bytes[position..<position + width].allSatisfy(isDigit) else {
            throw fail("expected \(width) digits for the \(what)")
        }
        let value = Int(String(decoding: bytes[position..<position + width], as: UTF8.self))!
        guard range.contains(value) else { throw fail("\(what) \(value) out of range") }
        position += width
        return value
    }

    mutating func expect(_ character: Unicode.Scalar) throws {
        guard consume(character) else { throw fail("expected '\(character)'") }
    }

    mutating func consume(_ character: Unicode.Scalar) -> Bool {
        guard position < bytes.count, bytes[position] == UInt8(character.value) else { return false }
        position += 1
        return true
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    func fail(_ reason: String) -> Failure { Failure(offset: position, reason: reason) }
}
