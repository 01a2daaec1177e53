import Catalog
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import ControllerCore

@Suite("Catalog operations: retention, deletion and keep on catalogs built for the purpose")
struct CatalogOperationsTests {
    /// Six backups over two timelines: a FAILED one in the middle, a standalone keep, WAL older
    /// than the oldest backup, a `.backup` history file and a timeline history file.
    static func sixBackups() throws -> (CatalogFixture, wal: [String]) {
        let fixture = try CatalogFixture()
        try fixture.addBackup("20251101T000000", begin: "000000010000000000000002", daysAgo: 30)
        try fixture.addBackup("20251102T000000", .failed, begin: "000000010000000000000004", daysAgo: 29, snapshot: false)
        try fixture.addBackup(
            "20251103T000000", begin: "000000010000000000000006", end: "000000010000000000000007", daysAgo: 28, keep: .standalone)
        try fixture.addBackup("20251104T000000", begin: "000000010000000000000008", daysAgo: 27)
        try fixture.addBackup("20251105T000000", timeline: 2, begin: "000000020000000000000010", daysAgo: 26)
        try fixture.addBackup("20251106T000000", timeline: 2, begin: "000000020000000000000012", daysAgo: 25)
        let wal =
            CatalogFixture.segments(timeline: 1, 1...15) + ["000000010000000000000006.00000028.backup", "00000002.history"]
            + CatalogFixture.segments(timeline: 2, 16...19)
        try fixture.addWAL(wal)
        return (fixture, wal)
    }

    @Test("REDUNDANCY 2 deletes exactly the OBSOLETE backups, their snapshots, and the WAL barman's rules let go")
    func redundancyRun() throws {
        let (fixture, wal) = try Self.sixBackups()
        let deleted = try fixture.operations.applyRetention(policy: .redundancy(2), minimumRedundancy: 0, dryRun: false, say: fixture.say)
        #expect(deleted.map(\.rawValue) == ["20251101T000000", "20251104T000000"])
        // Deleting the oldest frees timeline 1 up to the next DONE backup's begin_wal (the kept one);
        // deleting 20251104 frees nothing on timeline 1, which the FAILED and the kept backups are on.
        let freed = Set(CatalogFixture.segments(timeline: 1, 1...5))
        var expected = CatalogFixture.walKeys(wal.filter { !freed.contains($0) })
        for id in ["20251102T000000", "20251105T000000", "20251106T000000"] { expected.formUnion(CatalogFixture.backupKeys(id)) }
        expected.formUnion(CatalogFixture.backupKeys("20251103T000000", keep: true))
        #expect(try fixture.keys() == expected)
        #expect(try fixture.imagesLeft() == ["20251103T000000", "20251105T000000", "20251106T000000"])
    }

    @Test("a dry run says what would go and changes nothing")
    func dryRun() throws {
        let (fixture, _) = try Self.sixBackups()
        let before = try fixture.keys()
        let deleted = try fixture.operations.applyRetention(policy: .redundancy(2), minimumRedundancy: 0, dryRun: true, say: fixture.say)
        #expect(deleted.count == 2)
        #expect(try fixture.keys() == before)
        #expect(try fixture.imagesLeft().count == 5)
        let said = fixture.said.withLock { $0 }
        #expect(said.contains("would delete snapshot \(fixture.snapshotImage("20251101T000000")) of backup 20251101T000000"), "\(said)")
        #expect(said.contains("would delete pg1/wals/0000000100000000/000000010000000000000005"), "\(said)")
        #expect(!said.contains("would delete pg1/wals/0000000100000000/000000010000000000000006"))
        #expect(said.contains("backup 20251104T000000 would be deleted"))
    }

    @Test("RECOVERY WINDOW keeps the window's backups and the one before it; the minimum redundancy overrides")
    func recoveryWindowRun() throws {
        let (fixture, _) = try Self.sixBackups()
        let deleted = try fixture.operations.applyRetention(
            policy: .recoveryWindow(count: 1, unit: .weeks), minimumRedundancy: 3, dryRun: false, say: fixture.say)
        // 20251106 is the base of the window; 20251105 and 20251104 are OBSOLETE* for the minimum of 3.
        #expect(deleted.map(\.rawValue) == ["20251101T000000"])
    }

    @Test("an interrupted deletion (snapshot gone, backup.info marked) is finished by the next run; what remaining backups need stays")
    func interruptedDeletionIsFinished() throws {
        let (fixture, wal) = try Self.sixBackups()
        // What a controller killed right after deleting 20251104T000000's snapshot leaves behind.
        var marked = try fixture.catalog.readInfo(BackupID(rawValue: "20251104T000000")!)
        marked.status = .failed
        marked.error = BackupDeletion.deletingMarker + " (its snapshots first)"
        try fixture.catalog.write(marked, id: BackupID(rawValue: "20251104T000000")!)
        try FileManager.default.removeItem(atPath: fixture.snapshotImage("20251104T000000"))

        let deleted = try fixture.operations.applyRetention(policy: .redundancy(2), minimumRedundancy: 0, dryRun: false, say: fixture.say)
        #expect(deleted.map(\.rawValue) == ["20251101T000000"], "20251104 no longer counts: it was being deleted")
        let keys = try fixture.keys()
        #expect(!keys.contains { $0.hasPrefix("base/20251104T000000/") }, "\(keys.sorted())")
        #expect(fixture.said.withLock { $0 }.contains("finishing the interrupted deletion of 20251104T000000"))
        for (id, begin) in [("20251103T000000", 6), ("20251105T000000", 16), ("20251106T000000", 18)] {
            #expect(keys.contains("base/\(id)/backup.info"))
            let timeline = begin >= 16 ? 2 : 1
            let needed = CatalogFixture.walKeys(
                wal.filter {
                    WALFile(name: $0)!.kind == .segment && $0 >= String(format: "%08X%08X%08X", timeline, 0, begin)
                        && $0.hasPrefix(String(format: "%08X", timeline))
                })
            #expect(needed.isSubset(of: keys), "WAL from \(id)'s begin_wal on stays")
        }
    }

    @Test("an unreadable backup.info anywhere stops a policy run before anything is deleted")
    func unreadableStopsThePolicy() throws {
        let (fixture, _) = try Self.sixBackups()
        try fixture.catalog.store.put("pg1/base/20251105T000000/backup.info", body: .bytes(Array("status=DONE\nnot barman's format\n".utf8)))
        let before = try fixture.keys()
        #expect {
            try fixture.operations.applyRetention(policy: .redundancy(1), minimumRedundancy: 0, dryRun: false, say: fixture.say)
        } throws: { error in
            "\(error)".contains("Cannot read the following backups: ['20251105T000000']") && "\(error)".contains("Unsafe to proceed")
        }
        #expect(try fixture.keys() == before)
        #expect(try fixture.imagesLeft().count == 5)
    }

    @Test("delete by id: a kept backup and one below the minimum redundancy are refused; a missing id is reported, not an error")
    func deleteByIDRefusals() throws {
        let (fixture, _) = try Self.sixBackups()
        #expect {
            try fixture.operations.deleteBackup("20251103T000000", minimumRedundancy: 0, dryRun: false, say: fixture.say)
        } throws: { error in
            (error as? SnapfleetError)?.code == .refused && "\(error)".contains("as it has a current keep request")
        }
        #expect {
            try fixture.operations.deleteBackup("oldest", minimumRedundancy: 6, dryRun: false, say: fixture.say)
        } throws: { error in
            "\(error)".contains("due to minimum redundancy requirements (minimum redundancy = 6, current redundancy = 6)")
        }
        try fixture.operations.deleteBackup("20991231T000000", minimumRedundancy: 0, dryRun: false, say: fixture.say)
        #expect(fixture.said.withLock { $0 }.contains("backup 20991231T000000 does not exist"))
        #expect(try fixture.imagesLeft().count == 5)
    }

    @Test("delete by id of the newest backup: its snapshot, objects and record go; no WAL, older backups need it")
    func deleteNewest() throws {
        let (fixture, wal) = try Self.sixBackups()
        try fixture.catalog.writeReport(Array("{}".utf8), id: BackupID(rawValue: "20251106T000000")!)
        try fixture.operations.deleteBackup("latest", minimumRedundancy: 0, dryRun: false, say: fixture.say)
        let keys = try fixture.keys()
        #expect(!keys.contains { $0.contains("20251106T000000") }, "\(keys.sorted())")
        #expect(CatalogFixture.walKeys(wal).isSubset(of: keys))
        #expect(!(try fixture.imagesLeft()).contains("20251106T000000"))
    }

    @Test("a record whose backup another tool deleted is removed by the next deletion run; a STARTED one stays")
    func orphanRecords() throws {
        let fixture = try CatalogFixture()
        try fixture.addBackup("20251101T000000", begin: "000000010000000000000002")
        try fixture.catalog.writeReport(Array(#"{"status": "DONE"}"#.utf8), id: BackupID(rawValue: "20251030T000000")!)
        let started = BackupReport(startedBackup: "20251031T000000", server: "pg1", started: Date(), hello: nil)
        try fixture.catalog.writeReport(started.json, id: BackupID(rawValue: "20251031T000000")!)
        try fixture.operations.applyRetention(policy: .redundancy(1), minimumRedundancy: 0, dryRun: false, say: fixture.say)
        #expect(try fixture.keys().filter { $0.hasPrefix("snapfleet/") } == ["snapfleet/20251031T000000.json"])
    }

    @Test("keep: only DONE backups; status and release as barman-cloud-backup-keep prints them")
    func keep() throws {
        let (fixture, _) = try Self.sixBackups()
        #expect(try fixture.operations.keep("20251101T000000", .status) == "Keep: nokeep")
        _ = try fixture.operations.keep("20251101T000000", .add(.full))
        #expect(try fixture.operations.keep("20251101T000000", .status) == "Keep: full")
        #expect(try fixture.catalog.store.get("pg1/base/20251101T000000/annotations/keep") == Array("full".utf8))
        _ = try fixture.operations.keep("20251101T000000", .release)
        _ = try fixture.operations.keep("20251101T000000", .release)
        #expect(try fixture.operations.keep("20251101T000000", .status) == "Keep: nokeep")
        #expect {
            try fixture.operations.keep("last-failed", .add(.standalone))
        } throws: { error in
            "\(error)".contains("Cannot add keep to backup 20251102T000000 because it has status FAILED. Only backups with status DONE can be kept.")
        }
    }

    @Test("list: barman's columns for DONE backups, KEEP status and names; JSON has every status")
    func list() throws {
        let (fixture, _) = try Self.sixBackups()
        var lines: [String] = []
        try fixture.operations.listBackups(json: false, showServer: false) { lines.append($0) }
        #expect(lines.count == 5)
        #expect(lines[1].hasPrefix("20251103T000000     "))
        #expect(lines[1].contains("000000010000000000000006      KEEP:STANDALONE  "))
        var json = ""
        try fixture.operations.listBackups(json: true, showServer: false) { json += $0 }
        let list = try #require(try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [[String: Any]])
        #expect(list.map { $0["backup_id"] as? String } == (1...6).map { "2025110\($0)T000000" })
        #expect(list[1]["status"] as? String == "FAILED")
    }
}
