import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// SIGHUP: the real controller reads controller.yaml again with its agents connected; `status`
/// and the agents' connections show what took effect.
@Suite(
    "configuration reload on SIGHUP", .serialized,
    .requires(BuiltProducts.exists("snapfleet-controller"), "run swift build first"))
struct ControllerReloadTests {
    /// The servers `status` lists, in order.
    private func servers(_ fleet: Fleet) throws -> [String] {
        guard case .array(let rows)? = try fleet.status().json["servers"] else { return [] }
        return rows.compactMap { row in
            guard case .object(let server) = row, case .string(let name)? = server["server"] else { return nil }
            return name
        }
    }

    /// Sends SIGHUP and waits until the controller has logged `marker` once more than before.
    private func reload(_ fleet: Fleet, expecting marker: String) throws {
        let controller = try #require(fleet.controller)
        let before = controller.log.components(separatedBy: marker).count
        kill(controller.pid, SIGHUP)
        let logged = eventually(timeout: .seconds(10)) { controller.log.components(separatedBy: marker).count > before }
        try #require(logged, "no '\(marker)' after SIGHUP:\n\(controller.log.suffix(3000))")
    }

    @Test("adding and removing servers and changing the slots take effect; a connected agent stays; a bad file or a new listen address is refused")
    func reloadAddsAndRemoves() throws {
        let cluster = try PostgresCluster.shared()
        let fleet = try Fleet()
        defer { fleet.stop() }
        let keys = ["pg1": try fleet.agentKey("pg1"), "pg2": try fleet.agentKey("pg2"), "pg3": try fleet.agentKey("pg3")]
        try fleet.writeControllerConfig(servers: ["pg1": keys["pg1"]!, "pg2": keys["pg2"]!], topLevel: "max_concurrent_backups: 1")
        try fleet.startController()
        for name in ["pg1", "pg2"] {
            try fleet.startAgent(config: try fleet.writeAgentConfig(name, keyName: name, conninfo: cluster.conninfo), name: name)
            try fleet.waitForAgent(name)
        }
        let since = try fleet.agent("pg1")?["connected_since"]
        #expect(try servers(fleet) == ["pg1", "pg2"])

        // pg2 goes, pg3 comes, and four backups may run at once.
        try fleet.writeControllerConfig(servers: ["pg1": keys["pg1"]!, "pg3": keys["pg3"]!], topLevel: "max_concurrent_backups: 4")
        try reload(fleet, expecting: "configuration reloaded")
        let log = fleet.controller?.log ?? ""
        #expect(log.contains("servers.added=pg3") && log.contains("servers.removed=pg2") && log.contains("agents.ended=pg2"), "\(log.suffix(2000))")
        #expect(try servers(fleet) == ["pg1", "pg3"], "\(fleet.controller?.log.suffix(1500) ?? "")")
        guard case .object(let summary)? = try fleet.status().json["fleet"] else { throw FleetError("status has no fleet summary") }
        #expect(summary["max_concurrent_backups"] == .number(4))
        #expect(try fleet.agent("pg1")?["connected"] == .bool(true), "the agent of a kept server stays connected")
        #expect(try fleet.agent("pg1")?["connected_since"] == since, "and its session is the same one")
        try fleet.startAgent(config: try fleet.writeAgentConfig("pg3", keyName: "pg3", conninfo: cluster.conninfo), name: "pg3")
        try fleet.waitForAgent("pg3")  // its key is trusted now
        #expect(try fleet.agent("pg2") == nil)

        // A file that does not load leaves the running configuration in force.
        try fleet.writeControllerConfig(servers: ["pg1": keys["pg1"]!], topLevel: "max_concurent_backups: 2")
        try reload(fleet, expecting: "configuration not reloaded")
        #expect(fleet.controller?.log.contains("max_concurent_backups") == true, "the error names the bad key")
        // (The status command reads the file too: a valid one, not yet reloaded, lets it ask.)
        try fleet.writeControllerConfig(servers: ["pg1": keys["pg1"]!])
        #expect(try servers(fleet) == ["pg1", "pg3"], "\(fleet.controller?.log.suffix(1500) ?? "")")

        // A new listen address takes a restart: refused, with the reason.
        try fleet.writeControllerConfig(servers: ["pg1": keys["pg1"]!])
        let text = try String(contentsOfFile: fleet.controllerConfig, encoding: .utf8)
        try text.replacingOccurrences(of: ":\(fleet.port)\n", with: ":\(freeTCPPort())\n").write(
            toFile: fleet.controllerConfig, atomically: true, encoding: .utf8)
        try reload(fleet, expecting: "configuration not reloaded")
        #expect(fleet.controller?.log.contains("listen changed: that takes a restart of the controller") == true)
        #expect(try servers(fleet) == ["pg1", "pg3"], "\(fleet.controller?.log.suffix(1500) ?? "")")
        #expect(try fleet.agent("pg3")?["connected"] == .bool(true))
        #expect(fleet.controller?.isRunning == true)
    }
}
