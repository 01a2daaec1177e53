import PostgresBackup
import TestSupport
import Testing

/// `pg_walfile_name(lsn)` on timeline 1, taken from real PostgreSQL 15 servers initialized with
/// `--wal-segsize` 1, 16 and 1024 (MB).
private let serverVectors: [(segmentSize: Int, lsn: String, name: String)] = [
    (1 << 20, "0/1", "000000010000000000000000"),
    (1 << 20, "0/FFFFF", "000000010000000000000000"),
    (1 << 20, "0/100000", "000000010000000000000000"),
    (1 << 20, "0/100001", "000000010000000000000001"),
    (1 << 20, "0/1000028", "000000010000000000000010"),
    (1 << 20, "16/B374D848", "000000010000001600000B37"),
    (1 << 20, "3/A2000028", "000000010000000300000A20"),
    (1 << 20, "1/0", "000000010000000000000FFF"),
    (1 << 20, "0/40000000", "0000000100000000000003FF"),
    (1 << 20, "0/40000001", "000000010000000000000400"),
    (1 << 20, "12345678/9ABCDEF0", "0000000112345678000009AB"),
    (1 << 20, "0/0", "00000001FFFFFFFF00000FFF"),
    (16 << 20, "0/1", "000000010000000000000000"),
    (16 << 20, "0/FFFFFF", "000000010000000000000000"),
    (16 << 20, "0/1000000", "000000010000000000000000"),
    (16 << 20, "0/1000028", "000000010000000000000001"),
    (16 << 20, "16/B374D848", "0000000100000016000000B3"),
    (16 << 20, "3/A2000028", "0000000100000003000000A2"),
    (16 << 20, "1/0", "0000000100000000000000FF"),
    (16 << 20, "FFFFFFFF/FFFFFFFF", "00000001FFFFFFFF000000FF"),
    (16 << 20, "7F/C0000000", "000000010000007F000000BF"),
    (16 << 20, "12345678/9ABCDEF0", "00000001123456780000009A"),
    (16 << 20, "0/0", "00000001FFFFFFFF000000FF"),
    (1 << 30, "0/1000028", "000000010000000000000000"),
    (1 << 30, "16/B374D848", "000000010000001600000002"),
    (1 << 30, "0/40000000", "000000010000000000000000"),
    (1 << 30, "0/40000001", "000000010000000000000001"),
    (1 << 30, "1/0", "000000010000000000000003"),
    (1 << 30, "12345678/9ABCDEF0", "000000011234567800000002"),
]

@Suite("WALFileName")
struct WALFileNameTests {
    @Test("names the segment before an LSN exactly as pg_walfile_name does, for every vector")
    func pgWalfileNameVectors() throws {
        for vector in serverVectors {
            let lsn = try #require(LSN(vector.lsn))
            let name = WALFileName(timeline: 1, lastByteBefore: lsn, segmentSize: vector.segmentSize)
            #expect(name.description == vector.name, "\(vector.lsn) with \(vector.segmentSize) bytes")
        }
    }

    @Test("names the segment holding an LSN; equal to pg_walfile_name except on a segment boundary")
    func containingSegment() throws {
        for vector in serverVectors {
            let lsn = try #require(LSN(vector.lsn))
            let name = WALFileName(timeline: 1, lsn: lsn, segmentSize: vector.segmentSize)
            if lsn.rawValue % UInt64(vector.segmentSize) == 0 {
                #expect(name.segmentNumber(segmentSize: vector.segmentSize) == lsn.rawValue / UInt64(vector.segmentSize))
                #expect(name.description != vector.name)
            } else {
                #expect(name.description == vector.name, "\(vector.lsn) with \(vector.segmentSize) bytes")
            }
        }
    }

    @Test("matches the backup_label example from barman's documentation")
    func barmanExample() throws {
        // "START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)"
        let name = WALFileName(timeline: 1, lsn: try #require(LSN("3/A2000028")), segmentSize: 16 << 20)
        #expect(name.description == "0000000100000003000000A2")
        let later = WALFileName(timeline: 0x2A, lsn: try #require(LSN("16/B374D848")), segmentSize: 16 << 20)
        #expect(later.description == "0000002A00000016000000B3")
    }

    @Test("parses a file name back into timeline and segment number")
    func parse() throws {
        let name = try #require(WALFileName("0000000200000003000000A2"))
        #expect(name.timeline == 2)
        #expect(name.log == 3)
        #expect(name.segment == 0xA2)
        #expect(name.segmentNumber(segmentSize: 16 << 20) == 3 * 256 + 0xA2)
        #expect(name.startLSN(segmentSize: 16 << 20) == LSN("3/A2000000"))
        #expect(WALFileName("0000000200000003000000a2")?.description == "0000000200000003000000A2")
    }

    @Test("round-trips absolute segment numbers for every segment size")
    func segmentNumbers() {
        for segmentSize in [1 << 20, 16 << 20, 64 << 20, 1 << 30] {
            for number: UInt64 in [0, 1, 255, 256, 4095, 4096, 123_456] {
                let name = WALFileName(timeline: 7, segmentNumber: number, segmentSize: segmentSize)
                #expect(WALFileName(name.description) == name)
                #expect(name.segmentNumber(segmentSize: segmentSize) == number)
            }
        }
    }

    @Test("rejects names that are not plain 24-hex-digit segment names")
    func rejectsGarbage() {
        for text in [
            "", "00000001000000000000000", "0000000100000000000000001", "00000001000000000000000G",
            "000000010000000000000001.partial", "00000001.history", "0000000100000000000000+1",
        ] {
            #expect(WALFileName(text) == nil, "\(text) should not parse")
        }
    }

    @Test("sorts like the file names")
    func ordering() throws {
        let names = ["000000020000000000000001", "000000010000000100000000", "0000000100000000000000FF"]
        let sorted = try names.map { try #require(WALFileName($0)) }.sorted().map(\.description)
        #expect(sorted == names.sorted())
    }

    @Test("agrees with the running server's pg_walfile_name on timeline 1")
    func matchesServer() throws {
        let cluster = try PostgresCluster.shared()
        let output = try cluster.psql(
            """
            SELECT x::text, pg_walfile_name(x) FROM (SELECT pg_current_wal_lsn() AS x
            UNION ALL SELECT '0/1000000'::pg_lsn UNION ALL SELECT '5/DEADBEEF'::pg_lsn) s
            """)
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "|").map(String.init)
            let lsn = try #require(LSN(fields[0]))
            #expect(WALFileName(timeline: 1, lastByteBefore: lsn, segmentSize: 16 << 20).description == fields[1])
        }
    }
}
