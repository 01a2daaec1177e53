import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// `snapfleet-controller backup` with the local provider, end to end: a real cluster on a real
/// loop disk, the real controller and agent, a file:// catalog in barman-cloud's layout.
@Suite(
    "local snapshot backups", .serialized,
    .requires(BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable, "needs the built programs and loop devices"))
struct LocalBackupTests {
    struct Setup {
        let disk: LoopDisk
        let cluster: PostgresCluster
        let snapshots: TemporaryDirectory
        let catalog: TemporaryDirectory
        let fleet: Fleet
        /// A second disk holding tablespace `tbs1`, if asked for.
        let tablespaceDisk: LoopDisk?

        func tearDown() {
            fleet.stop()
            try? cluster.stop()
            try? disk.detach()
            try? tablespaceDisk?.detach()
        }
    }

    private func setUp(
        strayTablespace: Bool = false, tablespaceDisk: Bool = false, snapshotDirectory: String? = nil, controllerSettings: String = "",
        postgresSettings: [String: String] = [:], serverSettings: String = ""
    ) throws -> Setup {
        let disk = try LoopDisk(size: "128M", options: ["noatime"])
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        if !postgresSettings.isEmpty {
            try cluster.configure(postgresSettings)
            try cluster.restart()
        }
        if strayTablespace {
            _ = try cluster.psql("CREATE TABLESPACE stray LOCATION '\(try cluster.makePostgresDirectory("stray"))'")
        }
        let second = tablespaceDisk ? try LoopDisk(size: "64M", options: ["noatime"], mountPointName: "tbs") : nil
        if let second {
            let location = try cluster.makePostgresDirectory(at: second.mountPoint + "/tbs1")
            _ = try cluster.psql("CREATE TABLESPACE tbs1 LOCATION '\(location)'")
            _ = try cluster.psql("CREATE TABLE spread (id int) TABLESPACE tbs1")
        }
        _ = try cluster.psql("CREATE TABLE marker (id int, note text); INSERT INTO marker VALUES (1, 'before the backup')")
        let snapshots = try TemporaryDirectory(prefix: "snapshots")
        let catalog = try TemporaryDirectory(prefix: "catalog")
        let fleet = try Fleet()
        let settings = """
            destination: file://\(catalog.path)
            provider: local
            snapshot_instance: localhost
            snapshot_disks: [pgdata\(second == nil ? "" : ", tbsdisk")]
            tags: {team: payments}
            local:
              snapshot_directory: \(snapshotDirectory ?? snapshots.path)
              disks:
                pgdata: \(disk.imagePath)
            """ + (second.map { "\n    tbsdisk: \($0.imagePath)" } ?? "") + (serverSettings.isEmpty ? "" : "\n" + serverSettings)
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings], topLevel: controllerSettings)
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        try fleet.waitForAgent()
        return Setup(disk: disk, cluster: cluster, snapshots: snapshots, catalog: catalog, fleet: fleet, tablespaceDisk: second)
    }

    private func backup(_ setup: Setup) throws -> ProcessOutput {
        try Shell.run([
            BuiltProducts.path("snapfleet-controller"), "backup", "--config", setup.fleet.controllerConfig, "pg1", "--immediate-checkpoint",
        ])
    }

    @Test("retention_policy REDUNDANCY 1: after the second DONE backup the controller deletes the first, its snapshot image and record")
    func retentionAfterBackup() throws {
        let setup = try setUp(serverSettings: "retention_policy: REDUNDANCY 1")
        defer { setup.tearDown() }
        let first = try backup(setup)
        try #require(first.status == 0, "\(first.stderr)")
        Thread.sleep(forTimeInterval: 1.1)
        let second = try backup(setup)
        try #require(second.status == 0, "\(second.stderr)")
        let (firstID, secondID) = (
            first.stdout.trimmingCharacters(in: .whitespacesAndNewlines), second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        )
        let base = try FileManager.default.contentsOfDirectory(atPath: "\(setup.catalog.path)/pg1/base")
        #expect(base == [secondID], "\(base)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: setup.snapshots.path).map { $0.contains(firstID.lowercased()) } == [false])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(setup.catalog.path)/pg1/snapfleet") == ["\(secondID).json"])
        #expect(setup.fleet.controller?.log.contains("backup \(firstID) deleted") == true)
    }

    @Test("a DONE backup: backup.info and backup_label in barman's layout, a snapshot image of the disk")
    func done() throws {
        let setup = try setUp()
        defer { setup.tearDown() }
        let output = try backup(setup)
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)\n\(setup.fleet.controller?.log.suffix(3000) ?? "")")
        let id = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 15 && id.dropFirst(8).hasPrefix("T"), "backup id \(id)")

        let base = "\(setup.catalog.path)/pg1/base/\(id)"
        let info = try String(contentsOfFile: "\(base)/backup.info", encoding: .utf8)
        #expect(info.contains("status=DONE\n"), "\(info)")
        #expect(info.contains("server_name=pg1\n"))
        #expect(info.contains("'provider': 'local'"))
        let label = try String(contentsOfFile: "\(base)/backup_label", encoding: .utf8)
        #expect(label.contains("START WAL LOCATION:"))
        #expect(label.contains("LABEL: snapfleet backup pg1 \(id)"))
        let report = try String(contentsOfFile: "\(setup.catalog.path)/pg1/snapfleet/\(id).json", encoding: .utf8)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: base).sorted() == ["backup.info", "backup_label"],
            "only what barman-cloud writes (and deletes) is under base/<id>/")
        #expect(report.contains("\"backup_window_ms\" : "), "\(report)")
        #expect(report.contains("\"status\" : \"DONE\""))
        #expect(!info.contains("backup_window"), "snapfleet's extras never go into backup.info")
        let image = "\(setup.snapshots.path)/pgdata-\(id.lowercased()).img"
        #expect(FileManager.default.fileExists(atPath: image))
        #expect(setup.fleet.controller?.log.contains("backup.window_ms=") == true)
        // The backup session is over on the server: a new exclusive-free backup can start and stop.
        #expect(
            try setup.cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'").trimmingCharacters(
                in: .whitespacesAndNewlines) == "0")
    }

    @Test(
        "without --immediate-checkpoint, a spread checkpoint that outlasts the backup lease: DONE, with its progress shown"
    )
    func spreadCheckpointOutlastsTheLease() throws {
        // barman-cloud-backup's default, and so snapfleet's: PostgreSQL paces a spread checkpoint at
        // about one buffer per 100 ms, so ~150 dirty buffers keep pg_backup_start busy for ~15 s, three leases.
        let setup = try setUp(
            controllerSettings: "backup_lease_seconds: 5",
            postgresSettings: ["checkpoint_timeout": "300", "checkpoint_completion_target": "0.9", "log_checkpoints": "on"])
        defer { setup.tearDown() }
        _ = try setup.cluster.psql("CHECKPOINT")
        _ = try setup.cluster.psql("CREATE TABLE ballast AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 2500) g")
        let started = ContinuousClock.now
        let output = try Shell.run([BuiltProducts.path("snapfleet-controller"), "backup", "--config", setup.fleet.controllerConfig, "pg1"])
        let took = ContinuousClock.now - started
        let log = setup.fleet.controller?.log ?? ""
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)\n\(log.suffix(3000))")
        let id = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let info = try String(contentsOfFile: "\(setup.catalog.path)/pg1/base/\(id)/backup.info", encoding: .utf8)
        #expect(info.contains("status=DONE\n"), "\(info)")

        // The checkpoint really outlasted the lease: PostgreSQL's own account of its write phase.
        let checkpoint = try #require(
            setup.cluster.logTail(lines: 200).split(separator: "\n").last { $0.contains("checkpoint complete:") }, "\(setup.cluster.logTail())")
        let write = try #require(checkpoint.firstMatch(of: /write=([0-9.]+) s/).flatMap { Double($0.1) }, "\(checkpoint)")
        #expect(write > 5, "the spread checkpoint's writes took \(write) s, longer than the 5 s lease: \(checkpoint)")
        #expect(took > .seconds(5))

        // Its progress: on the backup command's standard error and in the controller's log.
        #expect(output.stderr.contains("backup \(id) pg1: checkpoint, "), "\(output.stderr)")
        #expect(output.stderr.contains("(PostgreSQL is running a spread checkpoint)"))
        #expect(log.contains("backup progress") && log.contains("phase=checkpoint"), "\(log.suffix(3000))")
        #expect(!log.contains("lease expired"))
    }

    @Test("SIGTERM during a spread checkpoint: the controller refuses new backups, lets the running one finish DONE, then exits 0")
    func sigtermLetsTheRunningBackupFinish() throws {
        let setup = try setUp(postgresSettings: ["checkpoint_timeout": "300", "checkpoint_completion_target": "0.9"])
        defer { setup.tearDown() }
        _ = try setup.cluster.psql("CHECKPOINT")
        _ = try setup.cluster.psql("CREATE TABLE ballast AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 2500) g")
        let controller = try #require(setup.fleet.controller)
        let running = try ProgramProcess(
            BuiltProducts.path("snapfleet-controller"), ["backup", "--config", setup.fleet.controllerConfig, "pg1"],
            logPath: setup.fleet.directory.file("backup.out"))
        let inCheckpoint = try eventually(timeout: .seconds(20), poll: .milliseconds(200)) {
            guard case .object(let progress)? = Fleet.firstServer(try setup.fleet.status("pg1").json)["running"] else { return false }
            return progress["phase"] == .string("checkpoint")
        }
        try #require(inCheckpoint, "the backup never showed its checkpoint phase:\n\(controller.log.suffix(3000))")

        kill(controller.pid, SIGTERM)
        #expect(eventually(timeout: .seconds(5)) { controller.log.contains("waiting for running backups to finish") })
        let refused = try Shell.run([BuiltProducts.path("snapfleet-controller"), "backup", "--config", setup.fleet.controllerConfig, "pg1"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the controller is shutting down"), "\(refused.stderr)")
        #expect(controller.isRunning, "still serving the running backup")

        #expect(running.waitForExit(timeout: .seconds(90)) == 0, "\(running.log)\n\(controller.log.suffix(3000))")
        let id = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(setup.catalog.path)/pg1/base").first)
        let info = try String(contentsOfFile: "\(setup.catalog.path)/pg1/base/\(id)/backup.info", encoding: .utf8)
        #expect(info.contains("status=DONE\n"), "\(info)")
        #expect(controller.waitForExit(timeout: .seconds(10)) == 0, "the controller exits once the backup is done")
        #expect(!controller.log.contains("stopping with backups still running"))
    }

    @Test("a tablespace on a second mount: both disks snapshotted, each recorded with its mount point, the tablespace in backup.info")
    func tablespaceOnSecondDisk() throws {
        let setup = try setUp(tablespaceDisk: true)
        defer { setup.tearDown() }
        let output = try backup(setup)
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)\n\(setup.fleet.controller?.log.suffix(3000) ?? "")")
        let id = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let info = try String(contentsOfFile: "\(setup.catalog.path)/pg1/base/\(id)/backup.info", encoding: .utf8)
        let tablespaceDisk = try #require(setup.tablespaceDisk)
        let oid = try setup.cluster.psql("SELECT oid FROM pg_tablespace WHERE spcname = 'tbs1'").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(info.contains("status=DONE\n"), "\(info)")
        #expect(info.contains("tablespaces=[('tbs1', \(oid), '\(tablespaceDisk.mountPoint)/tbs1')]"), "\(info)")
        #expect(info.contains("'mount_point': '\(setup.disk.mountPoint)'"))
        #expect(info.contains("'mount_point': '\(tablespaceDisk.mountPoint)'"))
        for disk in ["pgdata", "tbsdisk"] {
            #expect(FileManager.default.fileExists(atPath: "\(setup.snapshots.path)/\(disk)-\(id.lowercased()).img"))
        }
    }

    @Test("a snapshot that fails leaves a FAILED backup.info naming the step and cause, no snapshot, and no backup session")
    func snapshotFailure() throws {
        // Snapshots go to an 8 MB disk: copying the 128 MB data disk's used blocks runs out of space.
        let tiny = try LoopDisk(size: "8M")
        defer { try? tiny.detach() }
        let setup = try setUp(snapshotDirectory: tiny.mountPoint)
        defer { setup.tearDown() }
        _ = try setup.cluster.psql("CREATE TABLE ballast AS SELECT g, md5(g::text) || repeat('x', 500) AS pad FROM generate_series(1, 40000) g")
        _ = try setup.cluster.psql("CHECKPOINT")
        let output = try backup(setup)
        #expect(output.status == 1, "\(output.stdout)\(output.stderr)")
        let id = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(output.stderr.contains("backup \(id) FAILED: snapshot:"), "\(output.stderr)")
        let info = try String(contentsOfFile: "\(setup.catalog.path)/pg1/base/\(id)/backup.info", encoding: .utf8)
        #expect(info.contains("status=FAILED\n"), "\(info)")
        #expect(info.contains("error=failure snapshot ("), "\(info)")
        let left = try FileManager.default.contentsOfDirectory(atPath: tiny.mountPoint).filter { $0.hasSuffix(".img") }
        #expect(left.isEmpty, "no snapshot is left behind: \(left)")
        #expect(
            try setup.cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'")
                .trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the backup session was ended")
        // PostgreSQL is not left in backup mode: a new backup starts and stops.
        #expect(
            try setup.cluster.psql("SELECT pg_backup_start('after', true); SELECT labelfile FROM pg_backup_stop(false);").contains("LABEL: after"))
    }

    @Test("a failed pre-flight check creates nothing: no catalog entry, no snapshot, exit status 1")
    func preflightFailure() throws {
        let setup = try setUp(strayTablespace: true)
        defer { setup.tearDown() }
        let output = try backup(setup)
        #expect(output.status == 1)
        #expect(output.stderr.contains("pre-flight checks failed"), "\(output.stderr)")
        #expect(output.stderr.contains("tablespace stray on a listed disk"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: setup.snapshots.path)) == [])
        #expect(!FileManager.default.fileExists(atPath: "\(setup.catalog.path)/pg1/base"))
    }
}
