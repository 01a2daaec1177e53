import Foundation
import PostgresBackup
import Testing

@Suite("ArchiveProgress: pg_stat_archiver proves a segment archived only when PostgreSQL's own wait would end")
struct ArchiveProgressTests {
    let needed = WALFileName("000000010000000A00000003")!

    @Test(
        "what last_archived_wal proves",
        arguments: [
            ("000000010000000A00000003", true),  // the segment itself
            ("000000010000000A00000004", true),  // a later one (archived oldest first)
            ("000000010000000B00000000", true),  // a later log
            ("000000010000000A00000002", false),  // an older one
            ("000000010000000A00000003.00000028.backup", true),  // sorts after its segment, written after the switch
            ("000000010000000A00000002.00000028.backup", false),  // a backup that started in an older segment
            ("000000010000000A00000003.partial", false),
            ("00000002.history", false),  // history files prove nothing
            ("000000020000000A00000004", false),  // another timeline
            ("", false),
            ("garbage-that-is-long-enough-to-slice", false),
        ])
    func covers(lastArchived: String, expected: Bool) {
        #expect(ArchiveProgress.covers(lastArchived: lastArchived, needed: needed) == expected)
    }

    @Test("nothing archived yet proves nothing")
    func nothingArchived() {
        #expect(!ArchiveProgress.covers(lastArchived: nil, needed: needed))
    }

    @Test("PostgreSQL's own test on the status files: .done archived, .ready not yet, neither: archived once the segment is gone")
    func statusFiles() throws {
        let pgWAL = FileManager.default.temporaryDirectory.appendingPathComponent("pgwal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: pgWAL + "/archive_status", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: pgWAL) }
        let name = needed.description
        FileManager.default.createFile(atPath: "\(pgWAL)/\(name)", contents: Data())
        FileManager.default.createFile(atPath: "\(pgWAL)/archive_status/\(name).ready", contents: Data())
        #expect(ArchiveProgress.isArchived(needed, walDirectory: pgWAL) == false)
        try FileManager.default.moveItem(atPath: "\(pgWAL)/archive_status/\(name).ready", toPath: "\(pgWAL)/archive_status/\(name).done")
        #expect(ArchiveProgress.isArchived(needed, walDirectory: pgWAL) == true)
        try FileManager.default.removeItem(atPath: "\(pgWAL)/archive_status/\(name).done")
        #expect(ArchiveProgress.isArchived(needed, walDirectory: pgWAL) == false, "no status file, segment still there: not yet")
        try FileManager.default.removeItem(atPath: "\(pgWAL)/\(name)")
        #expect(ArchiveProgress.isArchived(needed, walDirectory: pgWAL) == true, "removed by a checkpoint: it was archived")
    }

    @Test("the backup history file's name: stop timeline, start segment, start offset")
    func historyFileName() {
        let label = "START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\n"
        #expect(
            ArchiveProgress.historyFileName(label: label, stopTimeline: 1, segmentSize: 16 << 20) == "0000000100000003000000A2.00000028.backup")
        #expect(ArchiveProgress.historyFileName(label: "LABEL: x\n", stopTimeline: 1, segmentSize: 16 << 20) == nil)
    }
}
