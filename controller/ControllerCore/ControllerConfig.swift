import Messaging
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol

/// The controller's configuration file (`controller.yaml`).
public struct ControllerConfig: ValidatableConfig, Equatable, Sendable {
    /// Where agents connect: `tcp://HOST:PORT` (CURVE-secured). Default `tcp://127.0.0.1:7461`.
    public var listen: String
    /// The controller's CURVE key file (made by `snapfleet-controller keygen`). Required.
    public var keyFile: String
    /// The operator commands' unix socket (mode 0600). Default `/run/snapfleet/admin.sock`.
    public var adminSocket: String
    /// How often each side sends a heartbeat, in milliseconds. Default 5000.
    public var heartbeatIntervalMs: Int
    /// The fleet: server name → its settings.
    public var servers: [String: ServerConfig]

    /// The default `listen`.
    public static let defaultListen = "tcp://127.0.0.1:7461"
    /// The default `admin_socket`.
    public static let defaultAdminSocket = "/run/snapfleet/admin.sock"

    /// Creates a configuration.
    public init(
        listen: String = defaultListen, keyFile: String, adminSocket: String = defaultAdminSocket,
        heartbeatIntervalMs: Int = 5000, servers: [String: ServerConfig]
    ) {
        self.listen = listen
        self.keyFile = keyFile
        self.adminSocket = adminSocket
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.servers = servers
    }

    enum CodingKeys: String, CodingKey {
        case listen
        case keyFile = "key_file"
        case adminSocket = "admin_socket"
        case heartbeatIntervalMs = "heartbeat_interval_ms"
        case servers
    }

    /// Decodes, filling in the documented defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        listen = try container.decodeIfPresent(String.self, forKey: .listen) ?? Self.defaultListen
        keyFile = try container.decode(String.self, forKey: .keyFile)
        adminSocket = try container.decodeIfPresent(String.self, forKey: .adminSocket) ?? Self.defaultAdminSocket
        heartbeatIntervalMs = try container.decodeIfPresent(Int.self, forKey: .heartbeatIntervalMs) ?? 5000
        servers = try container.decodeIfPresent([String: ServerConfig].self, forKey: .servers) ?? [:]
    }

    /// Checks endpoints, paths, names and ranges.
    public func validate() throws(SnapfleetError) {
        try ConfigCheck.tcpEndpoint(listen, key: "listen")
        try ConfigCheck.absolutePath(keyFile, key: "key_file")
        try ConfigCheck.absolutePath(adminSocket, key: "admin_socket")
        try ConfigCheck.range(heartbeatIntervalMs, 100...600_000, key: "heartbeat_interval_ms")
        for name in servers.keys.sorted() {
            do { try Wire.checkServerName(name) } catch {
                throw ConfigCheck.invalid("servers.\(name)", "is not a valid server name: \(error.message)")
            }
        }
    }

    /// Which servers each agent key may speak for.
    public var serversByKey: [CurvePublicKey: Set<String>] {
        servers.reduce(into: [:]) { result, entry in result[entry.value.agentKey, default: []].insert(entry.key) }
    }
}

/// One server of the fleet.
public struct ServerConfig: Codable, Equatable, Sendable {
    /// The public key (Z85) of the agent allowed to speak for this server.
    public var agentKey: CurvePublicKey

    /// Creates server settings.
    public init(agentKey: CurvePublicKey) { self.agentKey = agentKey }

    enum CodingKeys: String, CodingKey {
        case agentKey = "agent_key"
    }
}
