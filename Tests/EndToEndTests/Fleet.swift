import Foundation
import SnapfleetCore
import SnapfleetProtocol
import TestSupport

/// A controller and its agents as real processes, with configuration files in a temp dir.
final class Fleet: @unchecked Sendable {
    let directory: TemporaryDirectory
    let port = freeTCPPort()
    private(set) var controller: ProgramProcess?
    private var agents: [ProgramProcess] = []

    /// The controller's configuration file.
    var controllerConfig: String { directory.file("controller.yaml") }
    /// The admin socket.
    var adminSocket: String { directory.file("run/admin.sock") }
    /// The controller's public key.
    let controllerPublicKey: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "fleet")
        controllerPublicKey = try Self.keygen("snapfleet-controller", out: directory.file("controller.key"))
    }

    /// Makes an agent key; returns its public key.
    func agentKey(_ name: String) throws -> String {
        try Self.keygen("snapfleet-agent", out: directory.file("\(name).key"))
    }

    /// Writes controller.yaml with `servers` (name → agent public key) and, per server, more
    /// settings as YAML lines indented under it (`settings["pg1"] = "provider: local\n…"`).
    /// `topLevel` adds lines at the top of the file (`backup_lease_seconds: 5`). The catalog
    /// cache lives in the fleet's directory, so the catalog commands use it as users' do.
    func writeControllerConfig(servers: [String: String], heartbeatMs: Int = 500, settings: [String: String] = [:], topLevel: String = "") throws {
        let serverLines = servers.keys.sorted().map { name in
            let extra = (settings[name] ?? "").split(separator: "\n").map { "\n    \($0)" }.joined()
            return "  \(name):\n    agent_key: \"\(servers[name]!)\"\(extra)"
        }.joined(separator: "\n")
        let text = """
            listen: tcp://127.0.0.1:\(port)
            key_file: \(directory.file("controller.key"))
            admin_socket: \(adminSocket)
            heartbeat_interval_ms: \(heartbeatMs)
            cache_directory: \(directory.file("cache"))
            \(topLevel)
            servers:
            \(serverLines)

            """
        try text.write(toFile: controllerConfig, atomically: true, encoding: .utf8)
    }

    /// Writes `<name>.yaml` for an agent using key `<keyName>.key`; returns its path.
    func writeAgentConfig(_ name: String, keyName: String, conninfo: String, server: String? = nil) throws -> String {
        var text = """
            controller: tcp://127.0.0.1:\(port)
            controller_public_key: "\(controllerPublicKey)"
            key_file: \(directory.file("\(keyName).key"))
            postgres: "\(conninfo)"
            local_socket: \(localSocket(name))

            """
        if let server { text += "server: \(server)\n" }
        let path = directory.file("\(name).yaml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The local socket (`wal-push`, `wal-fetch`) of the agent configured as `name`.
    func localSocket(_ name: String) -> String { directory.file("\(name).sock") }

    /// Starts `snapfleet-controller serve` and waits for its admin socket.
    func startController(environment: [String: String] = [:], logLevel: String = "debug") throws {
        // A killed controller leaves its socket file behind; the wait below must see the new one.
        unlink(adminSocket)
        let process = try ProgramProcess(
            BuiltProducts.path("snapfleet-controller"), ["serve", "--config", controllerConfig, "--log-level", logLevel],
            logPath: directory.file("controller.log"), environment: environment)
        controller = process
        guard eventually(timeout: .seconds(10), { FileManager.default.fileExists(atPath: adminSocket) }) else {
            throw FleetError("controller did not start:\n\(process.log)")
        }
    }

    /// Starts `snapfleet-agent run` with a configuration file.
    @discardableResult
    func startAgent(config: String, name: String) throws -> ProgramProcess {
        let process = try ProgramProcess(
            BuiltProducts.path("snapfleet-agent"), ["run", "--config", config, "--log-level", "debug"],
            logPath: directory.file("\(name).log"))
        agents.append(process)
        return process
    }

    /// `snapfleet-controller agents --format json`, decoded.
    func listAgents() throws -> [[String: JSONValue]] {
        let output = try Shell.run([BuiltProducts.path("snapfleet-controller"), "agents", "--config", controllerConfig, "--format", "json"])
        guard output.status == 0 else { throw FleetError("agents failed: \(output.stderr)") }
        guard case .array(let rows) = try JSONDecoder().decode(JSONValue.self, from: Data(output.stdout.utf8)) else {
            throw FleetError("agents printed no array")
        }
        return rows.compactMap { if case .object(let row) = $0 { row } else { nil } }
    }

    /// The `agents` row of one server.
    func agent(_ server: String) throws -> [String: JSONValue]? {
        try listAgents().first { $0["server"] == .string(server) }
    }

    /// `snapfleet-controller status --format json [SERVER]`: its exit status and document (empty when it printed none).
    func status(_ server: String? = nil) throws -> (exit: Int32, json: [String: JSONValue]) {
        let command = [BuiltProducts.path("snapfleet-controller"), "status", "--config", controllerConfig, "--format", "json"]
        let output = try Shell.run(command + (server.map { [$0] } ?? []))
        guard case .object(let document)? = try? JSONDecoder().decode(JSONValue.self, from: Data(output.stdout.utf8)) else {
            return (output.status, [:])
        }
        return (output.status, document)
    }

    /// The first server of a `status` document.
    static func firstServer(_ document: [String: JSONValue]) -> [String: JSONValue] {
        guard case .array(let servers)? = document["servers"], case .object(let server)? = servers.first else { return [:] }
        return server
    }

    /// Waits until the server's agent is connected and reports PostgreSQL up; `log` (the agent's)
    /// goes into the error.
    func waitForAgent(_ server: String = "pg1", log: ProgramProcess? = nil) throws {
        guard try eventually(timeout: .seconds(15), { try agent(server)?["postgres_available"] == .bool(true) }) else {
            throw FleetError("agent did not connect" + (log.map { ":\n\($0.log.suffix(2000))" } ?? ""))
        }
    }

    /// Stops every process (agents first).
    func stop() {
        agents.forEach { $0.stop() }
        controller?.stop()
    }

    deinit { stop() }

    private static func keygen(_ program: String, out: String) throws -> String {
        try Shell.check([BuiltProducts.path(program), "keygen", "--out", out]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A test set-up failure with its explanation.
struct FleetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
