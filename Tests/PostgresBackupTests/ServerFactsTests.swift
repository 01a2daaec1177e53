import Foundation
import PostgresBackup
import SnapfleetCore
import TestSupport
import Testing

@Suite("ServerFacts")
struct ServerFactsTests {
    @Test("reads a cluster with a symlinked pg_wal, 1 MB WAL segments and a tablespace")
    func dedicatedCluster() throws {
        let scratch = try TemporaryDirectory(prefix: "facts")
        let walDirectory = scratch.file("wal")
        // initdb (as postgres) cannot create it in a directory root owns, but accepts an empty one.
        try FileManager.default.createDirectory(
            atPath: walDirectory, withIntermediateDirectories: false,
            attributes: [.ownerAccountName: "postgres", .groupOwnerAccountName: "postgres", .posixPermissions: 0o700])
        let cluster = try PostgresCluster(initdbArguments: ["--waldir=\(walDirectory)", "--wal-segsize=1"])
        let tablespaceDirectory = try cluster.makePostgresDirectory("tablespace one")
        try cluster.psql("CREATE TABLESPACE ts_one LOCATION '\(tablespaceDirectory)'")
        let oid = try cluster.psql("SELECT oid FROM pg_tablespace WHERE spcname = 'ts_one'")

        let connection = try PostgresConnection(conninfo: Redacted(cluster.conninfo))
        let facts = try ServerFacts.read(from: connection)

        #expect(facts.systemIdentifier == (try cluster.controlData()["Database system identifier"]))
        #expect(facts.dataDirectory == cluster.dataDirectory)
        #expect(facts.walDirectory == walDirectory)
        #expect(facts.tablespaces == [Tablespace(name: "ts_one", oid: try #require(UInt32(oid)), location: tablespaceDirectory)])
        #expect(facts.walSegmentSize == 1 << 20)
        try facts.checkSupported()
    }

    @Test("reads version, WAL and archiving settings and recovery state")
    func settings() throws {
        let cluster = try PostgresCluster.shared()
        let facts = try ServerFacts.read(from: PostgresConnection(conninfo: Redacted(cluster.conninfo)))
        #expect(facts.versionNumber == Int(try cluster.psql("SHOW server_version_num")))
        #expect(facts.version == (try cluster.psql("SHOW server_version")))
        #expect(facts.majorVersion == 15)
        #expect(facts.walLevel == "replica")
        #expect(facts.archiveMode == "on")
        #expect(facts.archiveCommand == "/bin/true")
        #expect(facts.walSegmentSize == 16 << 20)
        #expect(facts.isInRecovery == false)
        #expect(facts.walDirectory == cluster.dataDirectory + "/pg_wal")
        #expect(!facts.tablespaces.contains { ["pg_default", "pg_global"].contains($0.name) })
        #expect(UInt64(facts.systemIdentifier) != nil)
    }

    @Test("explains which setting a role without pg_read_all_settings cannot see")
    func unprivilegedRole() throws {
        let cluster = try PostgresCluster.shared()
        let role = uniqueName("facts").replacingOccurrences(of: "-", with: "_")
        try cluster.psql("CREATE ROLE \(role) LOGIN")
        defer { _ = try? cluster.psql("DROP ROLE \(role)") }
        let connection = try PostgresConnection(
            conninfo: Redacted(cluster.conninfo.replacingOccurrences(of: "user=postgres", with: "user=\(role)")))
        let error = snapfleetError { _ = try ServerFacts.read(from: connection) }
        #expect(error?.code == .postgresError)
        #expect(error?.message == "postgresql did not show the setting data_directory")
        #expect(error?.hint == "grant the backup role pg_read_all_settings")
    }

    @Test("supports PostgreSQL 13 and later only")
    func supportedVersions() throws {
        var facts = ServerFacts(
            versionNumber: 130_000, version: "13.0", systemIdentifier: "1", dataDirectory: "/d", tablespaces: [],
            walDirectory: nil, walLevel: "replica", archiveMode: "on", archiveCommand: nil,
            walSegmentSize: 16 << 20, isInRecovery: false)
        try facts.checkSupported()
        facts.versionNumber = 120_015
        facts.version = "12.15"
        let error = snapfleetError { try facts.checkSupported() }
        #expect(error?.code == .unsupportedPostgresVersion)
        #expect(error?.message == "postgresql 12.15 is not supported")
        #expect(error?.hint == "snapfleet needs postgresql 13 or later")
    }
}
