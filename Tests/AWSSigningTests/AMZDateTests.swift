import AWSSigning
import Foundation
import Testing

@Suite("AMZDate")
struct AMZDateTests {
    @Test(
        "dates are written as yyyyMMdd'T'HHmmss'Z' in UTC, truncated to seconds",
        arguments: [
            (1_440_938_160.0, "20150830T123600Z"), (1_369_353_600.0, "20130524T000000Z"), (0.0, "19700101T000000Z"),
            (951_782_399.999, "20000228T235959Z"), (951_782_400.0, "20000229T000000Z"), (4_107_542_400.0, "21000301T000000Z"),
            (-1.0, "19691231T235959Z"), (1_767_225_599.0, "20251231T235959Z"),
        ])
    func stamp(_ seconds: Double, _ expected: String) {
        let date = AMZDate(Date(timeIntervalSince1970: seconds))
        #expect(date.stamp == expected)
        #expect(date.day == String(expected.prefix(8)))
    }

    @Test("every day of four years matches Foundation's UTC calendar")
    func matchesFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: 18_000, to: 18_000 + 4 * 366, by: 1) {
            let date = Date(timeIntervalSince1970: Double(day * 86_400 + 45_296))
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let expected = String(format: "%04d%02d%02dT123456Z", parts.year!, parts.month!, parts.day!)
            #expect(AMZDate(date).stamp == expected)
        }
    }
}
