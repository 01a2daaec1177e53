#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A signing time in SigV4's two spellings: `20150830T123600Z` and the day `20150830`, UTC.
public struct AMZDate: Sendable, Hashable, CustomStringConvertible {
    /// `yyyyMMdd'T'HHmmss'Z'`, as sent in `X-Amz-Date`.
    public let stamp: String
    /// `yyyyMMdd`, the first part of the credential scope.
    public var day: String { String(stamp.prefix(8)) }

    /// The time `date`, truncated to whole seconds.
    public init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        // A negative remainder belongs to the day before (times before 1970).
        let (day, second) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let (year, month, dayOfMonth) = Self.civilDate(daysSinceEpoch: day)
        stamp =
            Self.digits(year, 4) + Self.digits(month, 2) + Self.digits(dayOfMonth, 2) + "T"
            + Self.digits(second / 3600, 2) + Self.digits(second / 60 % 60, 2) + Self.digits(second % 60, 2) + "Z"
    }

    /// The stamp.
    public var description: String { stamp }

    /// Proleptic Gregorian year, month and day of a day count since 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`), so no calendar or formatter from Foundation is needed.
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `value` in decimal, zero-padded to `width`.
    private static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
