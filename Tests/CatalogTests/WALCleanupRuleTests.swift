import Catalog
import Testing

@Suite("WAL clean-up after a deletion: barman's rules for timelines, history files and keeps")
struct WALCleanupRuleTests {
    static func entry(_ id: String, _ status: BackupStatus = .done, tli: Int = 1, begin: String, end: String? = nil, keep: KeepTarget? = nil)
        -> CatalogEntry
    {
        CatalogEntry(id: BackupID(rawValue: id)!, status: status, timeline: tli, beginWAL: begin, endWAL: end ?? begin, keep: keep)
    }

    static let oldest = entry("20251101T000000", begin: "000000010000000000000010")
    static let middle = entry("20251102T000000", begin: "000000010000000000000020")
    static let newest = entry("20251103T000000", begin: "000000010000000100000005")

    func wal(_ name: String) -> WALFile { WALFile(name: name)! }

    @Test("deleting the oldest backup frees the WAL before the next backup's begin_wal; its own begin_wal of the next stays")
    func oldestBackup() throws {
        let rule = try #require(
            WALCleanupRule.after(deleting: Self.oldest.id, catalog: [Self.oldest, Self.middle, Self.newest], skipStandalone: false))
        #expect(rule.removeUntil == "000000010000000000000020")
        #expect(rule.removes(wal("000000010000000000000010")))
        #expect(rule.removes(wal("00000001000000000000001F")))
        #expect(rule.removes(wal("000000010000000000000010.00000028.backup")))
        #expect(rule.removes(wal("00000001000000000000001F.partial")))
        #expect(!rule.removes(wal("000000010000000000000020")))
        #expect(!rule.removes(wal("00000001.history")), ".history files are never deleted")
        #expect(!rule.removesDirectory("0000000100000000"), "the directory holds the next backup's WAL")
    }

    @Test("deleting a backup with an older DONE one frees nothing: the older backup still needs that WAL")
    func olderBackupNeedsTheWAL() {
        #expect(WALCleanupRule.after(deleting: Self.middle.id, catalog: [Self.oldest, Self.middle, Self.newest], skipStandalone: false) == nil)
    }

    @Test("a FAILED older backup does not hold WAL back, and is not where the clean-up stops")
    func failedBackupsArePassedOver() throws {
        let failedOlder = Self.entry("20251031T000000", .failed, begin: "000000010000000000000001")
        let failedNewer = Self.entry("20251101T120000", .failed, tli: 1, begin: "000000010000000000000015")
        let rule = try #require(
            WALCleanupRule.after(deleting: Self.oldest.id, catalog: [failedOlder, Self.oldest, failedNewer, Self.middle], skipStandalone: false))
        #expect(rule.removeUntil == Self.middle.beginWAL)
    }

    @Test("an older standalone-kept backup: a delete by id keeps all WAL, a policy run keeps just that backup's WAL range")
    func standalone() throws {
        let kept = Self.entry("20251031T000000", begin: "000000010000000000000002", end: "000000010000000000000003", keep: .standalone)
        let catalog = [kept, Self.oldest, Self.middle]
        #expect(WALCleanupRule.after(deleting: Self.oldest.id, catalog: catalog, skipStandalone: true) == nil)
        let rule = try #require(WALCleanupRule.after(deleting: Self.oldest.id, catalog: catalog, skipStandalone: false))
        #expect(rule.removes(wal("000000010000000000000001")))
        #expect(!rule.removes(wal("000000010000000000000002")))
        #expect(!rule.removes(wal("000000010000000000000003")))
        #expect(!rule.removes(wal("000000010000000000000002.00000028.backup")))
        #expect(rule.removes(wal("000000010000000000000004")))
    }

    @Test("an older full-kept backup keeps all WAL")
    func full() {
        let kept = Self.entry("20251031T000000", begin: "000000010000000000000002", keep: .full)
        #expect(WALCleanupRule.after(deleting: Self.oldest.id, catalog: [kept, Self.oldest, Self.middle], skipStandalone: false) == nil)
    }

    @Test("timelines of other backups are protected, except the timeline the clean-up stops on")
    func timelines() throws {
        let onTwo = Self.entry("20251102T000000", tli: 2, begin: "000000020000000000000030")
        let alsoOnThree = Self.entry("20251103T000000", tli: 3, begin: "000000030000000000000040")
        let rule = try #require(WALCleanupRule.after(deleting: Self.oldest.id, catalog: [Self.oldest, onTwo, alsoOnThree], skipStandalone: false))
        #expect(rule.protectedTimelines == [3])
        #expect(rule.removes(wal("000000010000000000000031")), "timeline 1 sorts before 00000002…: barman compares names")
        #expect(rule.removes(wal("00000002000000000000002F")))
        #expect(!rule.removes(wal("000000030000000000000001")), "timeline 3 is another backup's")
        #expect(!rule.removes(wal("00000002.history")))
    }

    @Test("whole hash directories: before removeUntil's log on its timeline, not protected")
    func directories() throws {
        let rule = try #require(WALCleanupRule.after(deleting: Self.oldest.id, catalog: [Self.oldest, Self.newest], skipStandalone: false))
        #expect(rule.removesDirectory("0000000100000000"))
        #expect(!rule.removesDirectory("0000000100000001"))
        #expect(!rule.removesDirectory("0000000200000000"), "another timeline: file by file")
        #expect(!rule.removesDirectory("not-a-hash-dir!!"))
    }

    @Test("the last backup deleted: WAL before its own begin_wal goes (non-exclusive backups may overlap)")
    func lastBackup() throws {
        let rule = try #require(WALCleanupRule.after(deleting: Self.newest.id, catalog: [Self.newest], skipStandalone: true))
        #expect(rule.removeUntil == Self.newest.beginWAL)
    }

    @Test("no clean-up when the backup it would stop at has no begin_wal (barman crashes there, after deleting backup.info)")
    func missingBeginWAL() {
        let failed = CatalogEntry(id: BackupID(rawValue: "20251101T000000")!, status: .failed)
        #expect(WALCleanupRule.after(deleting: failed.id, catalog: [failed], skipStandalone: true) == nil)
    }

    @Test("a catalog out of id order gives the same rule as the sorted one")
    func unsortedCatalog() {
        let sorted = WALCleanupRule.after(deleting: Self.oldest.id, catalog: [Self.oldest, Self.middle, Self.newest], skipStandalone: false)
        let shuffled = WALCleanupRule.after(deleting: Self.oldest.id, catalog: [Self.newest, Self.oldest, Self.middle], skipStandalone: false)
        #expect(sorted != nil)
        #expect(shuffled == sorted)
    }

    @Test("the rule after deleting the next backup too covers the first one; rules on other timelines or with more protection do not")
    func covers() throws {
        let first = try #require(
            WALCleanupRule.after(deleting: Self.oldest.id, catalog: [Self.oldest, Self.middle, Self.newest], skipStandalone: false))
        let second = try #require(WALCleanupRule.after(deleting: Self.middle.id, catalog: [Self.middle, Self.newest], skipStandalone: false))
        #expect(second.covers(first))
        #expect(!first.covers(second), "it stops earlier")
        let protecting = WALCleanupRule(removeUntil: second.removeUntil, protectedTimelines: [3], protectedRanges: [])
        #expect(!protecting.covers(first), "it protects a timeline the first does not")
        let ranged = WALCleanupRule(
            removeUntil: second.removeUntil, protectedTimelines: [], protectedRanges: ["000000010000000000000001"..."000000010000000000000002"])
        #expect(!ranged.covers(first), "it protects a range the first does not")
        let otherTimeline = WALCleanupRule(removeUntil: "000000020000000000000001", protectedTimelines: [], protectedRanges: [])
        #expect(!otherTimeline.covers(first), "it would not remove the first one's whole directories")
    }
}
