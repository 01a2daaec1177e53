import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// snapfleet's WAL archive and barman-cloud's are the same thing: each tool reads what the other
/// wrote, in every compression both support.
@Suite(
    "WAL archives shared with barman-cloud", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-agent") && MotoServer.isAvailable && BarmanCloud.isAvailable,
        "needs the built programs, moto and barman-cloud (Python 3.12+, scripts/setup)"))
struct WALCompatibilityTests {
    @Test("barman-cloud-wal-restore fetches what snapfleet archived", arguments: ["none", "gzip", "zstd"])
    func barmanRestoresSnapfleetWAL(compression: String) throws {
        let setup = try WALSetup(compression: compression)
        let last = try setup.switchSegments(3)
        try setup.waitUntilArchived(last)
        let destination = setup.fleet.directory.file("restored-\(compression)")
        let restore = try BarmanCloud.run("wal-restore", ["s3://\(setup.bucket)/catalog", "pg1", last, destination], s3: setup.s3)
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: destination)) == Data(contentsOf: URL(fileURLWithPath: setup.segmentPath(last))))
    }

    @Test("snapfleet-agent wal-fetch fetches what barman-cloud-wal-archive archived", arguments: ["", "--gzip", "--zstd"])
    func snapfleetFetchesBarmanWAL(option: String) throws {
        let setup = try WALSetup(compression: "none")
        // A segment name PostgreSQL will not reach in this test, holding random bytes.
        let name = "0000000100000000000000F\(["": "0", "--gzip": "1", "--zstd": "2"][option]!)"
        let source = setup.fleet.directory.file(name)
        try Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: source))
        let archive = try BarmanCloud.run(
            "wal-archive", (option.isEmpty ? [] : [option]) + ["s3://\(setup.bucket)/catalog", "pg1", source], s3: setup.s3)
        #expect(archive.status == 0, "\(archive.stdout)\(archive.stderr)")
        let fetched = setup.fleet.directory.file("fetched-\(name)")
        let fetch = try Shell.run([setup.agentProgram, "wal-fetch", "--config", setup.agentConfig, name, fetched])
        #expect(fetch.status == 0, "\(fetch.stderr)\n\(setup.agent.log.suffix(2000))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched)) == Data(contentsOf: URL(fileURLWithPath: source)))
    }
}

extension WALSetup {
    /// The path of a segment in `pg_wal`.
    func segmentPath(_ name: String) -> String { cluster.dataDirectory + "/pg_wal/" + name }
}
