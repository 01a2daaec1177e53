import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// `status` and `/metrics` against the real state after scripted events: a backup that fails,
/// an agent lost, a reload that adds and removes servers, and a scheduled slot missed while the
/// controller was down. Local provider, real PostgreSQL on loop disks, the real programs.
@Suite(
    "status and metrics after fleet events", .serialized,
    .requires(BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable, "needs the built programs and loop devices"))
struct FleetStatusEventsTests {
    @Test("a failed backup, then its agent lost, then a reload adding and removing servers: each shows in status and metrics")
    func failedLostReloaded() throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        let pg1 = try LocalServer(name: "pg1", fleet: fleet)
        // pg2's snapshots go to a disk too small for them: its backup fails at the snapshot.
        let pg2 = try LocalServer(name: "pg2", fleet: fleet, snapshotDiskSize: "16M")
        let pg3Key = try fleet.agentKey("pg3")
        let metricsPort = freeTCPPort()
        let topLevel = "metrics_listen: 127.0.0.1:\(metricsPort)\nmonitoring: {agent_away_warning_minutes: 1, agent_away_critical_minutes: 30}"
        try fleet.writeControllerConfig(
            servers: ["pg1": pg1.key, "pg2": pg2.key], settings: ["pg1": pg1.settings, "pg2": pg2.settings], topLevel: topLevel)
        try fleet.startController()
        try pg1.startAgent()
        let agent2 = try pg2.startAgent()

        #expect(try pg1.backup().status == 0)
        let failed = try pg2.backup()
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        let afterFailure = try fleet.status()
        #expect(afterFailure.exit == 2, "pg2 has no DONE backup: CRITICAL")
        let second = try Self.row("pg2", afterFailure.json)
        #expect(second["level"] == .string("CRITICAL"))
        #expect(Self.problems(second).contains { $0.hasPrefix("the last backup") && $0.contains("FAILED") }, "\(second)")
        #expect(try Self.row("pg1", afterFailure.json)["level"] == .string("OK"))
        var samples = try AWSBackupTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(Self.value(samples, "snapfleet_backups_total", ["server": "pg1", "status": "DONE"]) == 1)
        #expect(Self.value(samples, "snapfleet_backups_total", ["server": "pg2", "status": "FAILED"]) == 1)
        #expect(Self.value(samples, "snapfleet_server_level", ["server": "pg2"]) == 2)

        // pg2's agent is lost: away at once, and past the one-minute limit a WARNING naming it.
        agent2.stop()
        #expect(try eventually(timeout: .seconds(20)) { try Self.row("pg2", fleet.status().json)["agent_connected"] == .bool(false) })
        samples = try AWSBackupTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(Self.value(samples, "snapfleet_agent_connected", ["server": "pg2"]) == 0)
        #expect(Self.value(samples, "snapfleet_agents_connected") == 1)
        let away = try eventually(timeout: .seconds(100), poll: .seconds(2)) {
            Self.problems(try Self.row("pg2", fleet.status().json)).contains { $0.hasPrefix("the agent has been away for 1 minutes") }
        }
        let awayRow = try Self.row("pg2", fleet.status().json)
        #expect(away, "\(awayRow)")

        // A reload: pg1 goes, pg3 comes (no agent yet).
        try fleet.writeControllerConfig(servers: ["pg2": pg2.key, "pg3": pg3Key], settings: ["pg2": pg2.settings], topLevel: topLevel)
        let controller = try #require(fleet.controller)
        kill(controller.pid, SIGHUP)
        #expect(eventually(timeout: .seconds(10)) { controller.log.contains("configuration reloaded") })
        let reloaded = try fleet.status()
        guard case .array(let rows)? = reloaded.json["servers"] else { throw FleetError("no servers in status") }
        let names = rows.compactMap { row -> String? in if case .object(let o) = row, case .string(let n)? = o["server"] { n } else { nil } }
        #expect(names == ["pg2", "pg3"])
        #expect(try Self.row("pg3", reloaded.json)["agent_connected"] == .bool(false))
        samples = try AWSBackupTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(Self.value(samples, "snapfleet_agent_connected", ["server": "pg3"]) == 0)
        #expect(Self.value(samples, "snapfleet_agent_connected", ["server": "pg1"]) == nil, "a removed server leaves the metrics")
    }

    @Test("a scheduled slot missed while the controller was down: run once at start, and status names the slot")
    func missedSlot() throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        let pg1 = try LocalServer(name: "pg1", fleet: fleet, schedule: "* * * * *")
        try fleet.writeControllerConfig(servers: ["pg1": pg1.key], settings: ["pg1": pg1.settings], topLevel: "time_zone: UTC")
        try fleet.startController()
        try pg1.startAgent()
        // A backup from the schedule, then the controller is down across the next slot.
        let first = try eventually(timeout: .seconds(90), poll: .seconds(1)) { try pg1.backupIDs().count >= 1 }
        try #require(first, "no scheduled backup:\n\(fleet.controller?.log.suffix(2000) ?? "")")
        _ = try eventually(timeout: .seconds(60)) { try pg1.doneCount() >= 1 }
        fleet.controller?.stop()
        let downSince = Date()
        let nextSlot = (downSince.timeIntervalSince1970 / 60).rounded(.up) * 60
        Thread.sleep(forTimeInterval: max(0, nextSlot - Date().timeIntervalSince1970) + 3)
        try fleet.startController()
        let caughtUp = try eventually(timeout: .seconds(40), poll: .seconds(1)) {
            guard case .string(let slot)? = try Self.row("pg1", fleet.status().json)["missed_slot"] else { return false }
            return Timestamp.parse(slot).map { abs($0.timeIntervalSince1970 - nextSlot) < 1 } == true
        }
        let row = try Self.row("pg1", fleet.status().json)
        #expect(caughtUp, "\(row)\n\(fleet.controller?.log.suffix(2000) ?? "")")
        #expect(fleet.controller?.log.contains("a scheduled backup was missed while the controller was down; taking it now") == true)
        let ran = try eventually(timeout: .seconds(60)) { try pg1.doneCount() >= 2 }
        let ids = try pg1.backupIDs()
        #expect(ran, "the missed slot's backup ran: \(ids)\n\(fleet.controller?.log.suffix(3000) ?? "")")
    }

    static func row(_ server: String, _ document: [String: JSONValue]) throws -> [String: JSONValue] {
        guard case .array(let rows)? = document["servers"] else { throw FleetError("no servers in \(document)") }
        for case .object(let row) in rows where row["server"] == .string(server) { return row }
        throw FleetError("no \(server) in \(document)")
    }

    static func problems(_ row: [String: JSONValue]) -> [String] {
        guard case .array(let items)? = row["problems"] else { return [] }
        return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    static func value(_ samples: [AWSBackupTests.Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}

/// One server of a local-provider fleet: PostgreSQL on a loop disk, its snapshot directory (on a
/// disk of its own when a size is given), a file:// catalog and its agent.
final class LocalServer {
    let name: String
    let fleet: Fleet
    let disk: LoopDisk
    let cluster: PostgresCluster
    let catalog: TemporaryDirectory
    let snapshots: String
    private let snapshotDirectory: TemporaryDirectory
    let key: String
    let settings: String
    private var snapshotDisk: LoopDisk?

    init(name: String, fleet: Fleet, snapshotDiskSize: String? = nil, schedule: String? = nil) throws {
        self.name = name
        self.fleet = fleet
        disk = try LoopDisk(size: "128M", options: ["noatime"])
        cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        catalog = try TemporaryDirectory(prefix: "catalog")
        snapshotDirectory = try TemporaryDirectory(prefix: "snapshots")
        if let snapshotDiskSize {
            let small = try LoopDisk(size: snapshotDiskSize)
            snapshotDisk = small
            snapshots = small.mountPoint
        } else {
            snapshots = snapshotDirectory.path
        }
        key = try fleet.agentKey(name)
        settings = """
            destination: file://\(catalog.path)
            provider: local
            snapshot_instance: localhost
            snapshot_disks: [pgdata]
            local:
              snapshot_directory: \(snapshots)
              disks:
                pgdata: \(disk.imagePath)
            """ + (schedule.map { "\nschedule: \"\($0)\"" } ?? "")
    }

    /// Starts its agent and waits until it is connected.
    @discardableResult
    func startAgent() throws -> ProgramProcess {
        let agent = try fleet.startAgent(config: try fleet.writeAgentConfig(name, keyName: name, conninfo: cluster.conninfo), name: name)
        try fleet.waitForAgent(name, log: agent)
        return agent
    }

    /// `snapfleet-controller backup NAME --immediate-checkpoint`.
    func backup() throws -> ProcessOutput {
        try Shell.run([BuiltProducts.path("snapfleet-controller"), "backup", "--config", fleet.controllerConfig, name, "--immediate-checkpoint"])
    }

    /// The catalog's backup ids.
    func backupIDs() throws -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(catalog.path)/\(name)/base")) ?? []
    }

    /// How many of its backups are DONE.
    func doneCount() throws -> Int {
        try backupIDs().filter { id in
            (try? String(contentsOfFile: "\(catalog.path)/\(name)/base/\(id)/backup.info", encoding: .utf8))?.contains("status=DONE\n") == true
        }.count
    }

    deinit {
        try? cluster.stop(mode: "immediate")
        try? disk.detach()
        try? snapshotDisk?.detach()
    }
}
