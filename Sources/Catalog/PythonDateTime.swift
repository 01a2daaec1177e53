#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A `datetime` as `backup.info` stores it: `str(datetime)`, e.g. `2024-03-15 02:15:01.123456+00:00`.
///
/// The fields are kept as written (not converted to a `Date`) so a file round-trips byte for byte.
public struct PythonDateTime: Sendable, Hashable, CustomStringConvertible {
    /// Calendar year, 1…9999.
    public var year: Int
    /// Month, 1…12.
    public var month: Int
    /// Day of the month.
    public var day: Int
    /// Hour, 0…23.
    public var hour: Int
    /// Minute, 0…59.
    public var minute: Int
    /// Second, 0…59.
    public var second: Int
    /// Microsecond, 0…999999.
    public var microsecond: Int
    /// Offset from UTC in seconds; nil for a naive time, which barman reads as local time (spec §3.2).
    public var utcOffset: Int?

    /// Creates a value from its fields (not validated; use `init(parsing:)` for untrusted text).
    public init(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int = 0, utcOffset: Int?
    ) {
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.microsecond) = (hour, minute, second, microsecond)
        self.utcOffset = utcOffset
    }

    /// The wall-clock time of `date` at `utcOffset` seconds east of UTC, to the microsecond.
    public init(_ date: Date, utcOffset: Int) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let total = Int64(micros) + Int64(utcOffset) * 1_000_000
        let (seconds, micro) = Self.floorDivide(total, 1_000_000)
        let (days, secondOfDay) = Self.floorDivide(seconds, 86_400)
        let (year, month, day) = CivilDate.fromDays(Int(days))
        self.init(
            year: year, month: month, day: day, hour: Int(secondOfDay / 3600), minute: Int(secondOfDay % 3600 / 60),
            second: Int(secondOfDay % 60), microsecond: Int(micro), utcOffset: utcOffset)
    }

    /// Python's `str(datetime)`: microseconds only when non-zero, the offset as `+HH:MM[:SS]`.
    public var description: String {
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if microsecond != 0 { text += "." + pad(microsecond, 6) }
        if let utcOffset { text += Self.offsetText(utcOffset) }
        return text
    }

    /// The instant; a naive value is read in `localTimeZone`, as barman reads it (dateutil → local).
    public func date(localTimeZone: TimeZone = .current) -> Date {
        let days = CivilDate.toDays(year: year, month: month, day: day)
        let wall = Double(days) * 86_400 + Double(hour * 3600 + minute * 60 + second) + Double(microsecond) / 1_000_000
        if let utcOffset { return Date(timeIntervalSince1970: wall - Double(utcOffset)) }
        let guess = Date(timeIntervalSince1970: wall - Double(localTimeZone.secondsFromGMT(for: Date(timeIntervalSince1970: wall))))
        return Date(timeIntervalSince1970: wall - Double(localTimeZone.secondsFromGMT(for: guess)))
    }

    /// `+HH:MM`, with `:SS` only when the offset has seconds (Python's `datetime.__str__`).
    static func offsetText(_ offset: Int) -> String {
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        var text = sign + pad2(magnitude / 3600) + ":" + pad2(magnitude % 3600 / 60)
        if magnitude % 60 != 0 { text += ":" + pad2(magnitude % 60) }
        return text
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = ((value % divisor) + divisor) % divisor
        return ((value - remainder) / divisor, remainder)
    }

    static func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Proleptic Gregorian day arithmetic (days since 1970-01-01), without `Calendar`.
enum CivilDate {
    /// Howard Hinnant's `days_from_civil`.
    static func toDays(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Howard Hinnant's `civil_from_days`.
    static func fromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days in `month` of `year`.
    static func daysIn(month: Int, year: Int) -> Int {
        toDays(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1)
            - toDays(year: year, month: month, day: 1)
    }
}
