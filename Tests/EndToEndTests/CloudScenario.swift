import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// What the GCP and Azure end-to-end scenarios share: a controller and agent (`fleet`) for server
/// pg1, PostgreSQL (`cluster`) on a loop disk (`disk`), and the operator commands run against them.
protocol CloudScenario: AnyObject {
    var fleet: Fleet { get }
    var cluster: PostgresCluster { get }
    var disk: LoopDisk { get }
    /// The agent's configuration file.
    var agentConfig: String { get }
    /// The stand-in's log, for failures.
    var standInLog: String { get }
    /// PostgreSQL stopped and its disk unmounted and detached from the instance, as when a host is lost.
    func loseTheServer() throws
}

extension CloudScenario {
    /// Writes the controller's configuration with pg1's `settings`, starts the controller, then
    /// PostgreSQL and an agent that may mount disks (restore --provision), and waits for it.
    func start(settings: String, agentConfig: String) throws {
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings])
        try fleet.startController()
        _ = try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo)
        try "allow_mount: true\n".appendLine(to: agentConfig)
        try cluster.start()
        try fleet.startAgent(config: agentConfig, name: "agent1")
        try fleet.waitForAgent()
    }

    /// `snapfleet-controller ARGUMENTS…`.
    func run(_ arguments: [String]) throws -> ProcessOutput {
        try Shell.run([BuiltProducts.path("snapfleet-controller")] + arguments)
    }

    /// Runs `check` (must pass) and `backup`; returns the DONE backup's id.
    func backup() throws -> String {
        let check = try run(["check", "--config", fleet.controllerConfig, "pg1"])
        guard check.status == 0 else {
            throw FleetError("check failed:\n\(check.stdout)\(check.stderr)\n\(fleet.controller?.log.suffix(2000) ?? "")")
        }
        let output = try run(["backup", "--config", fleet.controllerConfig, "pg1", "--immediate-checkpoint"])
        guard output.status == 0 else {
            throw FleetError("backup failed:\n\(output.stdout)\(output.stderr)\n\(fleet.controller?.log.suffix(3000) ?? "")\n\(standInLog)")
        }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `restore pg1 latest --recovery-server pg1` with `extra` options.
    func restore(_ extra: [String]) throws -> ProcessOutput {
        try run(["restore", "--config", fleet.controllerConfig, "pg1", "latest", "--recovery-server", "pg1"] + extra)
    }

    /// The backup window snapfleet recorded, in seconds.
    func windowSeconds(_ id: String) throws -> Double {
        let show = try run(["show-backup", "--config", fleet.controllerConfig, "pg1", id, "--format", "json"])
        let document = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        let record = ((document?["pg1"] as? [String: Any])?["snapfleet"] as? [String: Any]) ?? [:]
        guard let window = record["backup_window_ms"] as? Double else { throw FleetError("no window in: \(show.stdout)") }
        return window / 1000
    }

    /// A `marker` table of 500 rows, then three rounds of one more row and a segment switch, each
    /// waited for until archived (a switch with nothing written since the last one makes no new segment).
    func archiveMarkedSegments() throws {
        try cluster.psql("CREATE TABLE marker (id int); INSERT INTO marker SELECT generate_series(1, 500)")
        for round in 0..<3 {
            try cluster.psql("INSERT INTO marker VALUES (\(1000 + round))")
            try cluster.switchAndWaitArchived()
        }
    }

    /// PostgreSQL restarted as a standby that fetches WAL with the agent's `wal-fetch`, then promoted.
    func promoteStandbyFetchingWAL() throws {
        try cluster.stop()
        try cluster.configure(["restore_command": "\(BuiltProducts.path("snapfleet-agent")) wal-fetch --config \(agentConfig) %f %p"])
        try cluster.touch("standby.signal")
        try cluster.start()
        try cluster.promote()
    }

    /// A row before a backup, the backup, a row after it, a recovery target time, a row after the
    /// target (archived), and then the server lost; returns the target.
    func backUpThenLoseTheServerPastATarget() throws -> String {
        try cluster.psql("CREATE TABLE marker (id serial, note text); INSERT INTO marker (note) VALUES ('before the backup')")
        _ = try backup()
        try cluster.psql("INSERT INTO marker (note) VALUES ('after the backup')")
        let target = try cluster.psql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US+00')")
        Thread.sleep(forTimeInterval: 1.1)
        try cluster.psql("INSERT INTO marker (note) VALUES ('after the target')")
        try cluster.switchAndWaitArchived()
        try loseTheServer()
        return target
    }

    /// PostgreSQL started on the restored disk: it leaves recovery with exactly the rows written before the target.
    func expectRecoveredToTheTarget() throws {
        try cluster.start()
        #expect(try eventually(timeout: .seconds(60)) { (try? cluster.psql("SELECT pg_is_in_recovery()")) == "f" })
        #expect(try cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM marker") == "before the backup,after the backup")
    }

    /// A `backup` expected to fail (exit 1); returns the id it printed.
    func failingBackup() throws -> String {
        let failed = try run(["backup", "--config", fleet.controllerConfig, "pg1", "--immediate-checkpoint"])
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        return try #require(failed.stdout.split(separator: "\n").first { $0.count == 15 }.map(String.init), "\(failed.stdout)")
    }

    /// PostgreSQL is out of backup mode: a new non-exclusive backup starts and stops.
    func expectOutOfBackupMode() throws {
        #expect(try cluster.psql("SELECT pg_backup_start('after', true); SELECT labelfile FROM pg_backup_stop(false);").contains("LABEL: after"))
    }

    /// Everything stopped, the disk unmounted and detached.
    func tearDown() {
        fleet.stop()
        if cluster.isRunning { try? cluster.stop(mode: "immediate") }
        _ = try? Shell.run(["umount", disk.mountPoint])
        try? disk.detach()
    }
}
