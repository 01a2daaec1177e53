import Catalog
import Foundation
import Testing

@Suite("Retention policies: barman's grammar and its statuses, newest to oldest")
struct RetentionPolicyTests {
    static let now = Date(timeIntervalSince1970: 1_764_806_400)  // 2025-12-04 00:00:00 UTC

    /// A DONE (or other) backup that ended `daysAgo` days before `now`.
    static func backup(_ id: String, _ status: BackupStatus = .done, daysAgo: Double = 0, keep: KeepTarget? = nil) -> CatalogEntry {
        let end = PythonDateTime(now.addingTimeInterval(-daysAgo * 86_400), utcOffset: 0)
        return CatalogEntry(id: BackupID(rawValue: id)!, status: status, endTime: end, keep: keep)
    }

    @Test(
        "the policies barman accepts, in any case, with or without the plural s",
        arguments: [
            ("REDUNDANCY 3", RetentionPolicy.redundancy(3)), ("  redundancy   12 ", .redundancy(12)),
            ("RECOVERY WINDOW OF 2 WEEKS", .recoveryWindow(count: 2, unit: .weeks)),
            ("recovery window of 1 day", .recoveryWindow(count: 1, unit: .days)),
            ("Recovery Window Of 3 Months", .recoveryWindow(count: 3, unit: .months)),
        ])
    func parses(text: String, policy: RetentionPolicy) throws {
        #expect(try RetentionPolicy(parsing: text) == policy)
    }

    @Test(
        "anything else is refused with barman's message naming the text",
        arguments: [
            "", "REDUNDANCY", "REDUNDANCY 0", "REDUNDANCY -1", "REDUNDANCY 2 3", "RECOVERY WINDOW 2 DAYS", "RECOVERY WINDOW OF 2 YEARS", "KEEP 3",
        ])
    func refuses(text: String) {
        #expect {
            try RetentionPolicy(parsing: text)
        } throws: { error in
            "\(error)".contains("Cannot parse option retention_policy: \(text)")
        }
    }

    @Test("a month is 31 days; the policy prints as barman writes it")
    func units() throws {
        #expect(RetentionPolicy.WindowUnit.months.days == 31)
        #expect(try RetentionPolicy(parsing: "recovery window of 2 week").description == "RECOVERY WINDOW OF 2 WEEKS")
    }

    @Test("REDUNDANCY 2: the two newest DONE backups are VALID; kept ones count but are never OBSOLETE; FAILED ones are '-'")
    func redundancy() {
        let backups = [
            Self.backup("20251101T000000"), Self.backup("20251102T000000", keep: .standalone), Self.backup("20251103T000000"),
            Self.backup("20251104T000000", .failed), Self.backup("20251105T000000", keep: .full), Self.backup("20251106T000000"),
        ]
        let statuses = RetentionPolicy.redundancy(2).statuses(of: backups, minimumRedundancy: 0, now: Self.now)
        #expect(
            statuses.mapKeys() == [
                "20251106T000000": .valid, "20251105T000000": .keepFull, "20251104T000000": RetentionStatus.none,
                "20251103T000000": .obsolete, "20251102T000000": .keepStandalone, "20251101T000000": .obsolete,
            ])
    }

    @Test("the minimum redundancy raises a lower REDUNDANCY, with barman's warning")
    func minimumRaisesRedundancy() {
        let backups = (1...4).map { Self.backup("2025110\($0)T000000") }
        let statuses = RetentionPolicy.redundancy(1).statuses(of: backups, minimumRedundancy: 3, now: Self.now)
        #expect(statuses.values.filter { $0 == .valid }.count == 3)
        #expect(statuses[BackupID(rawValue: "20251101T000000")!] == .obsolete)
        #expect(
            RetentionPolicy.redundancy(1).redundancyWarning(minimumRedundancy: 3)
                == "Retention policy redundancy (1) is lower than the required minimum redundancy (3). Enforce 3.")
        #expect(RetentionPolicy.redundancy(3).redundancyWarning(minimumRedundancy: 3) == nil)
    }

    @Test("RECOVERY WINDOW OF 7 DAYS: backups in the window and the first one before it are VALID, older ones OBSOLETE")
    func recoveryWindow() {
        let backups = [
            Self.backup("20251101T000000", daysAgo: 30), Self.backup("20251110T000000", daysAgo: 20, keep: .full),
            Self.backup("20251120T000000", daysAgo: 10), Self.backup("20251125T000000", daysAgo: 9),
            Self.backup("20251129T000000", daysAgo: 5), Self.backup("20251202T000000", .failed, daysAgo: 2),
            Self.backup("20251203T000000", daysAgo: 1),
        ]
        let statuses = RetentionPolicy.recoveryWindow(count: 7, unit: .days).statuses(of: backups, minimumRedundancy: 0, now: Self.now)
        #expect(
            statuses.mapKeys() == [
                "20251203T000000": .valid, "20251202T000000": RetentionStatus.none, "20251129T000000": .valid,
                "20251125T000000": .valid,  // the base for the window's first moments
                "20251120T000000": .obsolete, "20251110T000000": .keepFull, "20251101T000000": .obsolete,
            ])
    }

    @Test("outside the window, backups kept for the minimum redundancy are OBSOLETE* and never deleted")
    func recoveryWindowMinimum() {
        let backups = [
            Self.backup("20251101T000000", daysAgo: 30), Self.backup("20251102T000000", daysAgo: 29), Self.backup("20251103T000000", daysAgo: 28),
        ]
        let statuses = RetentionPolicy.recoveryWindow(count: 1, unit: .weeks).statuses(of: backups, minimumRedundancy: 2, now: Self.now)
        #expect(statuses.mapKeys() == ["20251103T000000": .valid, "20251102T000000": .potentiallyObsolete, "20251101T000000": .obsolete])
    }
}

extension Dictionary where Key == BackupID, Value == RetentionStatus {
    /// The statuses keyed by id text, for readable expectations.
    func mapKeys() -> [String: RetentionStatus] { Dictionary<String, RetentionStatus>(uniqueKeysWithValues: map { ($0.key.rawValue, $0.value) }) }
}
