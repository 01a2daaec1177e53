import Foundation
import Logging
import PostgresBackup
import TestSupport

/// A logger that drops everything: the archiver's and fetcher's warnings are expected here.
let quietLogger = Logger(label: "snapfleet.agent-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// The segment name of segment `number` of timeline 1 (16 MiB segments, so 256 per log).
func segment(_ number: Int) -> String { WALFileName(timeline: 1, log: UInt32(number >> 8), segment: UInt32(number & 0xFF)).description }

/// `count` deterministic pseudo-random bytes (xorshift) seeded by `seed`, so no two segments match.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (seed &* 0x2545_F491_4F6C_DD1D)
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

/// A directory shaped like a PostgreSQL data directory: `PG_VERSION`, `pg_wal/archive_status`.
func makeDataDirectory() throws -> TemporaryDirectory {
    let directory = try TemporaryDirectory(prefix: "pgdata")
    try Data("15\n".utf8).write(to: URL(fileURLWithPath: directory.file("PG_VERSION")))
    try FileManager.default.createDirectory(atPath: directory.file("pg_wal/archive_status"), withIntermediateDirectories: true)
    return directory
}
