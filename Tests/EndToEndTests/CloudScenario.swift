import Foundation
import SnapfleetCore
import TestSupport

/// What the GCP and Azure end-to-end scenarios share: a controller and agent (`fleet`) for server
/// pg1, PostgreSQL (`cluster`) on a loop disk (`disk`), and the operator commands run against them.
protocol CloudScenario: AnyObject {
    var fleet: Fleet { get }
    var cluster: PostgresCluster { get }
    var disk: LoopDisk { get }
    /// The stand-in's log, for failures.
    var standInLog: String { get }
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

    /// Everything stopped, the disk unmounted and detached.
    func tearDown() {
        fleet.stop()
        if cluster.isRunning { try? cluster.stop(mode: "immediate") }
        _ = try? Shell.run(["umount", disk.mountPoint])
        try? disk.detach()
    }
}
