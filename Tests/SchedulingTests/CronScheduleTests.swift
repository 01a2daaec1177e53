import Foundation
import Scheduling
import Testing

@Suite("CronSchedule: crontab(5)'s grammar, its examples, day rules and time zones")
struct CronScheduleTests {
    static let utc = TimeZone(identifier: "UTC")!

    /// `yyyy-MM-dd HH:mm` in `zone`.
    static func date(_ text: String, _ zone: TimeZone = utc) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.date(from: text)!
    }

    /// `yyyy-MM-dd HH:mm EEE` of `date` in `zone`.
    static func text(_ date: Date?, _ zone: TimeZone = utc) -> String {
        guard let date else { return "never" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm EEE"
        return formatter.string(from: date)
    }

    /// The next `count` fire times after `start`.
    func fires(_ expression: String, after start: String, count: Int = 3, zone: TimeZone = utc) throws -> [String] {
        let schedule = try CronSchedule(parsing: expression)
        var cursor = Self.date(start, zone)
        var result: [String] = []
        for _ in 0..<count {
            guard let next = schedule.nextFire(after: cursor, in: zone) else { return result + ["never"] }
            result.append(Self.text(next, zone))
            cursor = next
        }
        return result
    }

    // 2026-12-04 is a Friday.

    @Test("crontab(5): five minutes after midnight, every day")
    func fiveAfterMidnight() throws {
        #expect(try fires("5 0 * * *", after: "2026-12-04 00:05") == ["2026-12-05 00:05 Sat", "2026-12-06 00:05 Sun", "2026-12-07 00:05 Mon"])
    }

    @Test("crontab(5): at 2:15pm on the first of every month")
    func firstOfMonth() throws {
        #expect(try fires("15 14 1 * *", after: "2026-12-04 00:00") == ["2027-01-01 14:15 Fri", "2027-02-01 14:15 Mon", "2027-03-01 14:15 Mon"])
    }

    @Test("crontab(5): at 10 pm on weekdays")
    func weekdays() throws {
        #expect(try fires("0 22 * * 1-5", after: "2026-12-04 22:00", count: 2) == ["2026-12-07 22:00 Mon", "2026-12-08 22:00 Tue"])
    }

    @Test("crontab(5): 23 minutes after midnight, 2am, 4am …, every day")
    func everyOtherHour() throws {
        #expect(try fires("23 0-23/2 * * *", after: "2026-12-04 21:00") == ["2026-12-04 22:23 Fri", "2026-12-05 00:23 Sat", "2026-12-05 02:23 Sat"])
    }

    @Test("crontab(5): at 5 after 4 every Sunday, by name; 0 and 7 are Sunday too")
    func sundays() throws {
        let expected = ["2026-12-06 04:05 Sun", "2026-12-13 04:05 Sun"]
        #expect(try fires("5 4 * * sun", after: "2026-12-04 00:00", count: 2) == expected)
        #expect(try fires("5 4 * * 0", after: "2026-12-04 00:00", count: 2) == expected)
        #expect(try fires("5 4 * * 7", after: "2026-12-04 00:00", count: 2) == expected)
        #expect(try fires("5 4 * * SUN", after: "2026-12-04 00:00", count: 2) == expected)
    }

    @Test("crontab(5): 0 0 1,15 * 1 runs on the 1st and the 15th and on every Monday")
    func eitherDayField() throws {
        #expect(
            try fires("0 0 1,15 * 1", after: "2026-12-04 00:00", count: 4)
                == ["2026-12-07 00:00 Mon", "2026-12-14 00:00 Mon", "2026-12-15 00:00 Tue", "2026-12-21 00:00 Mon"])
    }

    @Test("a day-of-week field starting with * leaves the day of month alone: */2 is not a restriction")
    func starredDayOfWeek() throws {
        #expect(try fires("0 0 15 * */2", after: "2026-12-04 00:00", count: 2) == ["2026-12-15 00:00 Tue", "2027-01-15 00:00 Fri"])
    }

    @Test("nicknames, steps, lists and month names")
    func nicknamesAndSteps() throws {
        #expect(try fires("@hourly", after: "2026-12-04 10:30", count: 2) == ["2026-12-04 11:00 Fri", "2026-12-04 12:00 Fri"])
        #expect(try fires("@daily", after: "2026-12-04 10:30", count: 1) == ["2026-12-05 00:00 Sat"])
        #expect(try fires("@weekly", after: "2026-12-04 10:30", count: 1) == ["2026-12-06 00:00 Sun"])
        #expect(try fires("@monthly", after: "2026-12-04 10:30", count: 1) == ["2027-01-01 00:00 Fri"])
        #expect(try fires("@yearly", after: "2026-12-04 10:30", count: 1) == ["2027-01-01 00:00 Fri"])
        #expect(
            try fires("*/20 * * * *", after: "2026-12-04 10:30", count: 3) == [
                "2026-12-04 10:40 Fri", "2026-12-04 11:00 Fri", "2026-12-04 11:20 Fri",
            ])
        #expect(try fires("0 1,13 * jan-mar,dec *", after: "2026-12-31 14:00", count: 2) == ["2027-01-01 01:00 Fri", "2027-01-01 13:00 Fri"])
        #expect(try fires("0 0 29 2 *", after: "2026-12-04 00:00", count: 1) == ["2028-02-29 00:00 Tue"])
    }

    @Test("a schedule that never fires (February 30th) has no next time")
    func never() throws {
        #expect(try CronSchedule(parsing: "0 0 30 2 *").nextFire(after: Self.date("2026-12-04 00:00"), in: Self.utc) == nil)
    }

    @Test("evaluated in the time zone: 02:00 in New York is 07:00 UTC in winter")
    func timeZone() throws {
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        let next = try CronSchedule(parsing: "0 2 * * *").nextFire(after: Self.date("2026-12-04 00:00", newYork), in: newYork)
        #expect(Self.text(next) == "2026-12-04 07:00 Fri")
    }

    @Test("daylight saving: a local time the clocks skip does not fire that day; one they repeat fires once")
    func daylightSaving() throws {
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        // 2027-03-14 02:00 → 03:00 in New York: 02:30 does not exist.
        #expect(try fires("30 2 * * *", after: "2027-03-13 03:00", count: 2, zone: newYork) == ["2027-03-15 02:30 Mon", "2027-03-16 02:30 Tue"])
        // 2027-11-07 02:00 → 01:00: 01:30 happens twice, and fires once.
        #expect(try fires("30 1 * * *", after: "2027-11-06 03:00", count: 2, zone: newYork) == ["2027-11-07 01:30 Sun", "2027-11-08 01:30 Mon"])
    }

    @Test("the last fire at or before a time, for the catch-up after downtime")
    func previous() throws {
        let schedule = try CronSchedule(parsing: "0 */6 * * *")
        #expect(Self.text(schedule.previousFire(atOrBefore: Self.date("2026-12-04 13:59"), in: Self.utc)) == "2026-12-04 12:00 Fri")
        #expect(Self.text(schedule.previousFire(atOrBefore: Self.date("2026-12-04 12:00"), in: Self.utc)) == "2026-12-04 12:00 Fri")
    }

    @Test(
        "bad schedules are refused, naming the field",
        arguments: [
            ("* * * *", "has 4 field(s)"), ("60 * * * *", "minute '60'"), ("* 24 * * *", "hour '24'"), ("* * 0 * *", "day of month '0'"),
            ("* * * 13 *", "month '13'"), ("* * * * 8", "day of week '8'"), ("*/0 * * * *", "must be a positive number"),
            ("5-1 * * * *", "runs backwards"), ("5/10 * * * *", "a step needs * or a range"), ("* * * * mon-xyz", "day of week 'mon-xyz'"),
            ("1,,2 * * * *", "minute '1,,2'"), ("@sometimes", "has 1 field(s)"), ("*/2/3 * * * *", "more than one step"),
        ])
    func refused(expression: String, message: String) {
        #expect(throws: CronError.self) { try CronSchedule(parsing: expression) }
        do {
            _ = try CronSchedule(parsing: expression)
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
