import Catalog
import Foundation
import Testing

@Suite("BackupID")
struct BackupIDTests {
    let utc = TimeZone(identifier: "UTC")!
    /// 2024-03-15 02:15:00.7 UTC.
    let now = Date(timeIntervalSince1970: 1_710_468_900.7)

    @Test("ids accept exactly eight digits, T, six digits", arguments: ["20240315T021500", "00000000T000000"])
    func valid(text: String) {
        #expect(BackupID(rawValue: text)?.rawValue == text)
    }

    @Test(
        "anything else is not an id",
        arguments: ["", "20240315T02150", "20240315t021500", "20240315T021500Z", "2024031ST021500", "latest", "٢٠٢٤٠٣١٥T021500"])
    func invalid(text: String) {
        #expect(BackupID(rawValue: text) == nil)
    }

    @Test("the id is the local wall-clock second")
    func fromClock() {
        #expect(BackupID(date: now, timeZone: utc).rawValue == "20240315T021500")
        #expect(BackupID(date: now, timeZone: TimeZone(secondsFromGMT: -5 * 3600)!).rawValue == "20240314T211500")
    }

    @Test("a second already used by the server moves the new id to the next free second")
    func nextFree() throws {
        let taken = ["20240315T021500", "20240315T021501", "20240315T021503"].compactMap(BackupID.init(rawValue:))
        #expect(BackupID.next(existing: [], now: now, timeZone: utc).rawValue == "20240315T021500")
        #expect(BackupID.next(existing: taken, now: now, timeZone: utc).rawValue == "20240315T021502")
        var ids: [BackupID] = []
        for _ in 0..<5 { ids.append(BackupID.next(existing: ids, now: now, timeZone: utc)) }
        #expect(Set(ids).count == 5 && ids == ids.sorted())
        let midnight = try #require(BackupID(rawValue: "20231231T235959"))
        let lastSecond = Date(timeIntervalSince1970: 1_704_067_199)
        #expect(BackupID.next(existing: [midnight], now: lastSecond, timeZone: utc).rawValue == "20240101T000000")
    }

    @Test("snapshot names lower-case the id")
    func snapshotName() {
        #expect(BackupID(rawValue: "20240315T021500")!.snapshotName(disk: "pgdata") == "pgdata-20240315t021500")
    }
}
