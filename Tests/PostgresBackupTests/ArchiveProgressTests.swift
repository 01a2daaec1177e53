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
}
