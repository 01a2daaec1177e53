import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// `snapfleet-controller restore` with the local provider, data checked: PostgreSQL on a loop
/// disk archives through `wal-push`, is backed up, keeps writing, is lost; the backup is restored
/// with `--provision` onto a clone of the snapshot, to several targets, and PostgreSQL recovers
/// through `wal-fetch` to exactly the rows it should have.
@Suite(
    "restores from local snapshots", .serialized,
    .requires(BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable, "needs the built programs and loop devices"))
struct RestoreTests {
    @Test("restore to latest, to a time, to a restore point and to an LSN: each recovered database has exactly its rows")
    func restoresToEveryTarget() throws {
        let setup = try RestoreSetup()
        defer { setup.tearDown() }
        let story = try setup.writeStory()
        try setup.loseTheServer()

        // Each restore promotes onto a new timeline in the same archive: the targets on the original
        // timeline are reached with `--target-timeline current` (the newest timeline branched earlier).
        let current = ["--target-timeline", "current"]
        for (target, arguments, expected) in [
            ("latest", [String](), story.all), ("time", ["--target-time", story.time] + current, story.beforeTime),
            ("restore point", ["--target-name", "rp1"] + current, story.beforeTime), ("lsn", ["--target-lsn", story.lsn] + current, story.beforeLSN),
        ] {
            let restore = try setup.restore(arguments + ["--provision", "--target-action", "promote"])
            try #require(restore.status == 0, "\(target): \(restore.stdout)\(restore.stderr)\n\(setup.fleet.controller?.log.suffix(2000) ?? "")")
            try setup.startRecovered()
            #expect(try setup.markers() == expected.markers, "\(target)")
            #expect(try setup.accountsChecksum() == expected.checksum, "\(target): pgbench data as it was at the target")
            let recovered = try setup.dump()
            let differing = Set(recovered.split(separator: "\n")).symmetricDifference(expected.dump.split(separator: "\n")).prefix(6)
            #expect(recovered == expected.dump, "\(target): pg_dump of the recovered database equals the source's at the target: \(Array(differing))")
            #expect(expected.markers.contains("during the backup"), "markers written during the backup are part of the story")
            try setup.dropRestoredDisk()
        }
    }

    @Test("refusals: a missing disk, other mount options, PostgreSQL running, a FAILED backup — named, and nothing written")
    func refusals() throws {
        let setup = try RestoreSetup()
        defer { setup.tearDown() }
        _ = try setup.writeStory()
        try setup.loseTheServer()

        let missing = try setup.restore([])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("FAILED  disk from ") && missing.stdout.contains("no disk attached"), "\(missing.stdout)")

        #expect(try setup.restore(["--provision"]).status == 0)
        try Shell.check(["mount", "-o", "remount,strictatime", setup.disk.mountPoint])
        let options = try setup.restore(["--target-name", "rp1"])
        #expect(options.status == 1)
        #expect(options.stdout.contains("mount options: expected rw,noatime, found "), "\(options.stdout)")
        #expect(try setup.dataFile("postgresql.auto.conf").contains("recovery_target_name") == false, "nothing written")
        try Shell.check(["mount", "-o", "remount,noatime", setup.disk.mountPoint])

        try setup.startRecovered()
        let settingsBefore = try setup.dataFile("postgresql.auto.conf")
        let running = try setup.restore(["--target-name", "rp1"])
        #expect(running.status == 1)
        #expect(running.stdout.contains("FAILED  PostgreSQL not running"), "\(running.stdout)")
        #expect(try setup.dataFile("postgresql.auto.conf") == settingsBefore, "nothing written")
        #expect(!FileManager.default.fileExists(atPath: setup.dataPath("backup_label")), "recovery consumed the label; no new one was written")
        try setup.cluster.stop()

        let failed = try setup.markLatestFailed()
        let refused = try setup.restore([], backup: failed)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("is FAILED: only a DONE backup is restored"), "\(refused.stderr)")
        try setup.dropRestoredDisk()
    }

    @Test("a disk cloned from another backup's snapshot is refused, naming the snapshot expected; the data directory is untouched")
    func diskFromAnotherSnapshot() throws {
        let setup = try RestoreSetup()
        defer { setup.tearDown() }
        let first = try setup.backup()
        _ = try setup.backup()
        try setup.loseTheServer()
        #expect(try setup.restore(["--provision"]).status == 0, "the latest backup's disk is attached and prepared")
        let label = try setup.dataFile("backup_label")
        let refused = try setup.restore([], backup: first)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("no disk attached to") && refused.stdout.contains("pgdata-\(first.lowercased()).img"), "\(refused.stdout)")
        #expect(try setup.dataFile("backup_label") == label, "nothing written")
        try setup.dropRestoredDisk()
    }
}

/// What the source wrote around the backup, and what each target must bring back.
struct RestoreStory {
    struct Expected {
        let markers: String
        let checksum: String
        /// `pg_dump --data-only` of the source at the target.
        let dump: String
    }
    let all: Expected
    let beforeTime: Expected
    let beforeLSN: Expected
    let time: String
    let lsn: String
}

/// PostgreSQL 15 on a loop disk archiving through `wal-push` into a `file://` catalog, a
/// controller and an agent (allowed to mount) for server pg1, the local provider.
final class RestoreSetup {
    let disk: LoopDisk
    let cluster: PostgresCluster
    let snapshots: TemporaryDirectory
    let catalog: TemporaryDirectory
    let fleet: Fleet
    let agentConfig: String
    private var restoredDevices: [String] = []

    init() throws {
        disk = try LoopDisk(size: "256M", options: ["noatime"])
        snapshots = try TemporaryDirectory(prefix: "snapshots")
        catalog = try TemporaryDirectory(prefix: "catalog")
        fleet = try Fleet()
        chmod(fleet.directory.path, 0o755)
        agentConfig = fleet.directory.file("agent1.yaml")
        cluster = try PostgresCluster(
            settings: ["archive_command": "\(BuiltProducts.path("snapfleet-agent")) wal-push --config \(agentConfig) %p"],
            dataDirectory: disk.mountPoint + "/data", start: false)
        let settings = """
            destination: file://\(catalog.path)
            provider: local
            snapshot_instance: localhost
            snapshot_disks: [pgdata]
            local:
              snapshot_directory: \(snapshots.path)
              disks:
                pgdata: \(disk.imagePath)
            """
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings])
        try fleet.startController()
        _ = try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo)
        try "allow_mount: true\n".appendLine(to: agentConfig)
        try cluster.start()
        try fleet.startAgent(config: agentConfig, name: "agent1")
        try fleet.waitForAgent()
    }

    func tearDown() {
        fleet.stop()
        try? cluster.stop(mode: "immediate")
        try? dropRestoredDisk()
        try? disk.detach()
    }

    /// A backup now; returns its id.
    func backup() throws -> String {
        let output = try Shell.run([
            BuiltProducts.path("snapfleet-controller"), "backup", "--config", fleet.controllerConfig, "pg1", "--immediate-checkpoint",
        ])
        guard output.status == 0 else { throw FleetError("backup failed: \(output.stderr)\n\(fleet.controller?.log.suffix(3000) ?? "")") }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Markers and pgbench around a backup; returns what each target must recover.
    func writeStory() throws -> RestoreStory {
        try ChildProcess.check([
            "runuser", "-u", "postgres", "--", "\(PostgresCluster.binDirectory)/pgbench", "-i", "-s", "1", "-q",
            "-h", cluster.socketDirectory, "-p", String(cluster.port), "postgres",
        ])
        try cluster.psql("CREATE TABLE marker (id serial, note text, at timestamptz DEFAULT clock_timestamp())")
        try cluster.psql("INSERT INTO marker (note) VALUES ('before the backup')")
        // Markers written all through the backup (its window included), by another session.
        let writer = try ProgramProcess(
            "/bin/sh",
            [
                "-c",
                "for i in $(seq 150); do \(PostgresCluster.binDirectory)/psql -X -q -h \(cluster.socketDirectory) -p \(cluster.port) -U postgres "
                    + "-d postgres -c \"INSERT INTO marker (note) VALUES ('during the backup')\"; done",
            ], logPath: fleet.directory.file("writer.log"))
        _ = try backup()
        guard writer.waitForExit(timeout: .seconds(60)) == 0 else { throw FleetError("the marker writer failed: \(writer.log)") }
        try cluster.psql(
            "INSERT INTO marker (note) VALUES ('after the backup'); UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000")
        let beforeTime = try expected()
        let time = try cluster.psql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US+00')")
        Thread.sleep(forTimeInterval: 1.1)
        try cluster.psql("SELECT pg_create_restore_point('rp1')")
        Thread.sleep(forTimeInterval: 0.2)
        try cluster.psql(
            "INSERT INTO marker (note) VALUES ('after the restore point'); UPDATE pgbench_accounts SET abalance = abalance + 2 WHERE aid <= 2000")
        let lsn = try cluster.psql("SELECT pg_current_wal_insert_lsn()")
        let beforeLSN = try expected()
        try cluster.psql("INSERT INTO marker (note) VALUES ('last'); UPDATE pgbench_accounts SET abalance = abalance + 3 WHERE aid <= 3000")
        let all = try expected()
        try cluster.switchAndWaitArchived()
        return RestoreStory(all: all, beforeTime: beforeTime, beforeLSN: beforeLSN, time: time, lsn: lsn)
    }

    private func expected() throws -> RestoreStory.Expected {
        RestoreStory.Expected(markers: try markers(), checksum: try accountsChecksum(), dump: try dump())
    }

    func markers() throws -> String { try cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM marker") }

    /// `pg_dump` of the data of every table (pgbench's and the markers), its lines sorted (rows have no
    /// order; updates and pruning may place them differently). Sequence positions are left out:
    /// PostgreSQL logs sequences 32 values ahead, so a recovered one may be ahead.
    func dump() throws -> String {
        try ChildProcess.check([
            "\(PostgresCluster.binDirectory)/pg_dump", "--data-only", "-h", cluster.socketDirectory, "-p",
            String(cluster.port), "-U", "postgres", "postgres",
        ]).split(separator: "\n").filter { line in
            // pg_dump's per-dump random \restrict keys, and sequence positions (see above).
            !line.hasPrefix("\\restrict") && !line.hasPrefix("\\unrestrict") && !line.hasPrefix("SELECT pg_catalog.setval")
        }.sorted().joined(separator: "\n")
    }

    func accountsChecksum() throws -> String {
        try cluster.psql("SELECT md5(string_agg(aid::text || ':' || abalance::text, ',' ORDER BY aid)) FROM pgbench_accounts")
    }

    /// The server is gone: PostgreSQL stopped hard and its disk unmounted.
    func loseTheServer() throws {
        try cluster.stop(mode: "immediate")
        try disk.unmount()
    }

    /// `snapfleet-controller restore pg1 BACKUP --recovery-server pg1 …`.
    func restore(_ arguments: [String], backup: String = "latest") throws -> ProcessOutput {
        let output = try Shell.run(
            [BuiltProducts.path("snapfleet-controller"), "restore", "--config", fleet.controllerConfig, "pg1", backup, "--recovery-server", "pg1"]
                + arguments)
        for line in output.stdout.split(separator: "\n") where line.hasPrefix("provisioned") {
            if let device = line.split(separator: " ").last, device.hasPrefix("/dev/loop") { restoredDevices.append(String(device)) }
        }
        return output
    }

    /// Starts PostgreSQL on the restored data directory and waits for recovery to end.
    func startRecovered() throws {
        try cluster.start()
        guard try eventually(timeout: .seconds(60), { (try? self.cluster.psql("SELECT pg_is_in_recovery()")) == "f" }) else {
            throw FleetError("recovery did not end:\n\(cluster.logTail(lines: 60))")
        }
    }

    /// Stops PostgreSQL, unmounts and detaches the restored clone.
    func dropRestoredDisk() throws {
        if cluster.isRunning { try cluster.stop() }
        _ = try? Shell.run(["umount", disk.mountPoint])
        for device in restoredDevices { _ = try? Shell.run(["losetup", "-d", device]) }
        restoredDevices.removeAll()
    }

    func dataPath(_ name: String) -> String { cluster.dataDirectory + "/" + name }

    func dataFile(_ name: String) throws -> String { try String(contentsOfFile: dataPath(name), encoding: .utf8) }

    /// Copies the latest backup as a FAILED one with a later id; returns that id.
    func markLatestFailed() throws -> String {
        let base = catalog.file("pg1/base")
        let latest = try FileManager.default.contentsOfDirectory(atPath: base).sorted().last ?? ""
        let failed = "29991231T235959"
        try FileManager.default.createDirectory(atPath: "\(base)/\(failed)", withIntermediateDirectories: true)
        let info = try String(contentsOfFile: "\(base)/\(latest)/backup.info", encoding: .utf8).replacingOccurrences(
            of: "status=DONE", with: "status=FAILED")
        try info.write(toFile: "\(base)/\(failed)/backup.info", atomically: true, encoding: .utf8)
        return failed
    }
}

extension String {
    /// Appends this text to a file.
    func appendLine(to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
