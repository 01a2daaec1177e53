import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// The real controller and agent over TCP with CURVE: who gets in, and what the fleet view shows.
@Suite("controller and agents find and trust each other", .serialized, .requires(BuiltProducts.exists("snapfleet-agent"), "run swift build first"))
struct FleetTrustTests {
    @Test("an agent with its configured key is listed with the system identifier PostgreSQL reports")
    func agentIsListedWithPostgresFacts() throws {
        let cluster = try PostgresCluster.shared()
        let fleet = try Fleet()
        let key = try fleet.agentKey("pg1")
        try fleet.writeControllerConfig(servers: ["pg1": key, "pg2": try fleet.agentKey("pg2")])
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")

        #expect(try eventually { try fleet.agent("pg1")?["connected"] == .bool(true) }, "agent never connected: \(fleet.controller?.log ?? "")")
        let row = try #require(try fleet.agent("pg1"))
        let systemIdentifier = try cluster.controlData()["Database system identifier"]
        #expect(row["system_identifier"] == .string(try #require(systemIdentifier)))
        #expect(row["data_directory"] == .string(cluster.dataDirectory))
        #expect(
            row["pg_version_num"] == .number(Double(try cluster.psql("SHOW server_version_num").trimmingCharacters(in: .whitespacesAndNewlines))!))
        #expect(row["postgres_available"] == .bool(true))
        #expect(row["agent_version"] == .string(snapfleetVersion))
        #expect(row["connected_since"] != .null && row["last_heartbeat"] != .null)
        // A configured server without an agent is listed too, as not connected.
        #expect(try fleet.agent("pg2")?["connected"] == .bool(false))
    }

    @Test("an agent whose key is not configured is refused by ZAP and never listed")
    func unknownKeyIsRefused() throws {
        let cluster = try PostgresCluster.shared()
        let fleet = try Fleet()
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")])
        _ = try fleet.agentKey("stranger")
        try fleet.startController()
        let agent = try fleet.startAgent(
            config: try fleet.writeAgentConfig("stranger", keyName: "stranger", conninfo: cluster.conninfo, server: "pg1"), name: "stranger")

        #expect(try eventually { fleet.controller?.log.contains("connection refused: unknown agent key") == true })
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try fleet.agent("pg1")?["connected"] == .bool(false))
        #expect(!agent.log.contains("accepted by controller"))
        #expect(agent.isRunning, "a refused agent keeps running and retrying")
    }

    @Test("an agent whose key is bound to pg1 cannot speak for pg2")
    func keyCannotSpeakForAnotherServer() throws {
        let cluster = try PostgresCluster.shared()
        let fleet = try Fleet()
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1"), "pg2": try fleet.agentKey("pg2")])
        try fleet.startController()
        let impostor = try fleet.startAgent(
            config: try fleet.writeAgentConfig("impostor", keyName: "pg1", conninfo: cluster.conninfo, server: "pg2"), name: "impostor")

        #expect(try eventually { impostor.log.contains("not_authorized") }, "agent log: \(impostor.log)")
        #expect(impostor.log.contains("may not speak for server 'pg2'"))
        #expect(try fleet.agent("pg2")?["connected"] == .bool(false))
        #expect(try fleet.agent("pg1")?["connected"] == .bool(false))
    }

    @Test("an agent whose PostgreSQL is down still connects, says so, and reports facts once it is up")
    func postgresDownThenUp() throws {
        let cluster = try PostgresCluster(start: false)
        let fleet = try Fleet()
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")])
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")

        #expect(try eventually { try fleet.agent("pg1")?["connected"] == .bool(true) })
        let down = try #require(try fleet.agent("pg1"))
        #expect(down["postgres_available"] == .bool(false))
        #expect(down["system_identifier"] == .null)
        guard case .string(let reason) = down["postgres_error"] else { Issue.record("no postgres_error"); return }
        #expect(!reason.isEmpty)

        try cluster.start()
        #expect(try eventually(timeout: .seconds(20)) { try fleet.agent("pg1")?["postgres_available"] == .bool(true) })
        #expect(try fleet.agent("pg1")?["system_identifier"] != .null)
    }

    @Test("an agent reconnects by itself after the controller restarts")
    func reconnectAfterControllerRestart() throws {
        let cluster = try PostgresCluster.shared()
        let fleet = try Fleet()
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")])
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        #expect(try eventually { try fleet.agent("pg1")?["connected"] == .bool(true) })

        fleet.controller?.stop()
        try fleet.startController()
        #expect(try eventually(timeout: .seconds(15)) { try fleet.agent("pg1")?["connected"] == .bool(true) })
    }
}
