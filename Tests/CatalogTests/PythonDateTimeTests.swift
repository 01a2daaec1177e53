import Catalog
import Foundation
import SnapfleetCore
import Testing

@Suite("PythonDateTime")
struct PythonDateTimeTests {
    @Test(
        "str(datetime) forms round-trip",
        arguments: [
            "2024-03-15 02:15:01.123456+00:00", "2024-03-15 02:15:01+00:00", "2024-03-15 02:15:01-05:30", "2024-03-15 02:15:01.000100+01:00",
            "2024-03-15 02:15:01", "2024-02-29 23:59:59+05:45:30",
        ])
    func roundTrip(text: String) throws {
        #expect(try PythonDateTime(parsing: text).description == text)
    }

    @Test(
        "other ISO spellings are read",
        arguments: [
            ("2024-03-15T02:15:01Z", "2024-03-15 02:15:01+00:00"), ("2024-03-15 02:15:01.5+0100", "2024-03-15 02:15:01.500000+01:00"),
            ("2024-03-15", "2024-03-15 00:00:00"),
        ])
    func variants(text: String, expected: String) throws {
        #expect(try PythonDateTime(parsing: text).description == expected)
    }

    @Test("dates convert both ways at the given offset")
    func dates() throws {
        let value = try PythonDateTime(parsing: "2024-03-15 02:15:01.123456+01:00")
        #expect(value.date().timeIntervalSince1970 == 1_710_465_301.123456)
        #expect(PythonDateTime(value.date(), utcOffset: 3600) == value)
        #expect(PythonDateTime(Date(timeIntervalSince1970: -1), utcOffset: 0).description == "1969-12-31 23:59:59+00:00")
        let naive = try PythonDateTime(parsing: "2024-03-15 02:15:01")
        #expect(naive.date(localTimeZone: TimeZone(identifier: "UTC")!).timeIntervalSince1970 == 1_710_468_901)
    }

    @Test(
        "invalid timestamps are refused with the offset",
        arguments: [
            ("2024-02-30 00:00:00", "at offset 8: day 30 out of range"), ("2024-03-15 25:00:00", "at offset 11: hour 25 out of range"),
            ("2024-03-15 02:15:01+", "at offset 20: expected 2 digits for the offset hours"),
            ("2024-03-15 02:15:01 UTC", "at offset 19: expected a UTC offset"),
        ])
    func invalid(text: String, suffix: String) {
        let error = #expect(throws: SnapfleetError.self) { try PythonDateTime(parsing: text) }
        #expect(error?.message.hasSuffix(suffix) == true, "\(error?.message ?? "")")
    }
}
