import Foundation

/// A schedule in crontab(5)'s grammar: five fields (minute, hour, day of month, month, day of
/// week) of `*`, numbers, names (`jan`–`dec`, `sun`–`sat`), ranges `a-b`, lists `a,b` and steps
/// `*/n` or `a-b/n`, or one of the nicknames `@yearly`/`@annually`, `@monthly`, `@weekly`,
/// `@daily`/`@midnight` and `@hourly`. Evaluated in a time zone.
///
/// As cron does: day of week 0 and 7 are Sunday, and when both day fields are restricted (neither
/// starts with `*`) a day matches if either does.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    /// The expression as written.
    public let description: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 (Sunday) … 6.
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    /// Parses `expression`; the error names the field and what is wrong with it.
    public init(parsing expression: String) throws(CronError) {
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let text = Self.nicknames[trimmed.lowercased()] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronError(
                "'\(expression)' has \(fields.count) field(s); a schedule has five (minute hour day-of-month month day-of-week) or is a @nickname")
        }
        description = trimmed
        minutes = try Self.parse(fields[0], .minute)
        hours = try Self.parse(fields[1], .hour)
        daysOfMonth = try Self.parse(fields[2], .dayOfMonth)
        months = try Self.parse(fields[3], .month)
        daysOfWeek = Set(try Self.parse(fields[4], .dayOfWeek).map { $0 % 7 })
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    /// The first minute strictly after `date` the schedule fires, in `timeZone`; nil if it never
    /// does within eight years (`30 0 30 2 *`). A local time that a daylight-saving change skips
    /// does not fire; one it repeats fires once.
    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        guard let startDay = calendar.date(from: DateComponents(year: start.year, month: start.month, day: start.day, hour: 12)) else {
            return nil
        }
        for offset in 0..<(366 * 8) {
            guard let noon = calendar.date(byAdding: .day, value: offset, to: startDay) else { return nil }
            let day = calendar.dateComponents([.year, .month, .day, .weekday], from: noon)
            guard let year = day.year, let month = day.month, let dayOfMonth = day.day, let weekday = day.weekday,
                matches(month: month, dayOfMonth: dayOfMonth, dayOfWeek: weekday - 1)
            else { continue }
            if let fire = firstFire(on: (year, month, dayOfMonth), after: date, calendar: calendar) { return fire }
        }
        return nil
    }

    /// The last minute at or before `date` the schedule fired, looking back at most 32 days.
    public func previousFire(atOrBefore date: Date, in timeZone: TimeZone) -> Date? {
        // Windows that grow, so that an every-minute schedule looks at an hour, a monthly one at a month.
        for window: TimeInterval in [3_600, 86_400, 8 * 86_400, 32 * 86_400] {
            var last: Date?
            var cursor = date.addingTimeInterval(-window)
            while let fire = nextFire(after: cursor, in: timeZone), fire <= date {
                last = fire
                cursor = fire
            }
            if let last { return last }
        }
        return nil
    }

    private func matches(month: Int, dayOfMonth: Int, dayOfWeek: Int) -> Bool {
        guard months.contains(month) else { return false }
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return daysOfMonth.contains(dayOfMonth) || daysOfWeek.contains(dayOfWeek)
        case (true, false): return daysOfMonth.contains(dayOfMonth)
        case (false, true): return daysOfWeek.contains(dayOfWeek)
        case (false, false): return true
        }
    }

    /// The first matching hour and minute of that local day after `date`.
    private func firstFire(on day: (year: Int, month: Int, day: Int), after date: Date, calendar: Calendar) -> Date? {
        for hour in hours.sorted() {
            for minute in minutes.sorted() {
                let wanted = DateComponents(year: day.year, month: day.month, day: day.day, hour: hour, minute: minute)
                guard let fire = calendar.date(from: wanted), fire > date else { continue }
                // A time the clocks skip comes back as another hour: it does not exist, so it does not fire.
                let actual = calendar.dateComponents([.day, .hour, .minute], from: fire)
                if actual.day == day.day && actual.hour == hour && actual.minute == minute { return fire }
            }
        }
        return nil
    }

    // MARK: - Parsing

    static let nicknames = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// One field's name, bounds and names.
    enum Field {
        case minute, hour, dayOfMonth, month, dayOfWeek

        var name: String {
            switch self {
            case .minute: "minute"
            case .hour: "hour"
            case .dayOfMonth: "day of month"
            case .month: "month"
            case .dayOfWeek: "day of week"
            }
        }

        var bounds: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            case .dayOfWeek: 0...7
            }
        }

        var names: [String] {
            switch self {
            case .month: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: []
            }
        }

        /// The value of a number or name.
        func value(_ text: Substring) -> Int? {
            if let index = names.firstIndex(of: text.lowercased()) { return self == .month ? index + 1 : index }
            guard CronSchedule.isDigits(text), let number = Int(text), bounds.contains(number) else { return nil }
            return number
        }
    }

    /// A comma-separated list of `*`, values and ranges, each with an optional `/step`.
    static func parse(_ text: String, _ field: Field) throws(CronError) -> Set<Int> {
        var values = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw CronError("\(field.name) '\(text)': '\(item)' has more than one step") }
            var step = 1
            if parts.count == 2 {
                guard isDigits(parts[1]), let given = Int(parts[1]), given > 0 else {
                    throw CronError("\(field.name) '\(text)': the step in '\(item)' must be a positive number")
                }
                step = given
            }
            let range = try self.range(parts[0], field, whole: text)
            guard parts.count == 1 || parts[0] == "*" || range.count > 1 else {
                throw CronError("\(field.name) '\(text)': a step needs * or a range before it, not '\(parts[0])'")
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    /// Only ASCII digits (`Int` would also take a sign).
    static func isDigits(_ text: Substring) -> Bool { !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }

    /// `*`, one value or `a-b`.
    private static func range(_ text: Substring, _ field: Field, whole: String) throws(CronError) -> ClosedRange<Int> {
        if text == "*" { return field == .dayOfWeek ? 0...6 : field.bounds }
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count <= 2, let low = field.value(ends[0]), let high = field.value(ends.last!) else {
            throw CronError(
                "\(field.name) '\(whole)': '\(text)' is not a value in \(field.bounds.lowerBound)-\(field.bounds.upperBound)"
                    + (field.names.isEmpty ? "" : " or a name (\(field.names.joined(separator: ", ")))"))
        }
        guard low <= high else { throw CronError("\(field.name) '\(whole)': the range '\(text)' runs backwards") }
        return low...high
    }
}

/// Why a schedule cannot be parsed.
public struct CronError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, naming the field.
    public let description: String

    init(_ description: String) { self.description = description }
}
