import SnapfleetCore

/// `hello`: an agent introduces itself and the PostgreSQL server it serves.
///
/// `server` is a claim, not an identity: the controller accepts it only if the agent's
/// authenticated CURVE key is bound to that server name.
public struct Hello: WireBody {
    /// The server name the agent speaks for; may be left out when its key is bound to one server.
    public var server: String?
    /// The agent's snapfleet version.
    public var agentVersion: String
    /// The host's name, for operators.
    public var hostname: String
    /// What the agent sees of PostgreSQL right now.
    public var postgres: PostgresReport

    /// Creates a hello.
    public init(server: String?, agentVersion: String, hostname: String, postgres: PostgresReport) {
        self.server = server
        self.agentVersion = agentVersion
        self.hostname = hostname
        self.postgres = postgres
    }

    enum CodingKeys: String, CodingKey {
        case server
        case agentVersion = "agent_version"
        case hostname
        case postgres
    }

    /// Checks names and nested facts.
    public func validate() throws(SnapfleetError) {
        if let server { try Wire.checkServerName(server) }
        try Wire.checkText(agentVersion, field: "agent_version", maxLength: 64)
        try Wire.checkText(hostname, field: "hostname", maxLength: 255)
        try postgres.validate()
    }
}

/// `hello_ack`: the controller accepts an agent.
public struct HelloAck: WireBody {
    /// The server name the agent now speaks for.
    public var server: String
    /// The controller's snapfleet version.
    public var controllerVersion: String
    /// How often each side sends a heartbeat, in milliseconds.
    public var heartbeatIntervalMs: Int

    /// Creates an acknowledgement.
    public init(server: String, controllerVersion: String, heartbeatIntervalMs: Int) {
        self.server = server
        self.controllerVersion = controllerVersion
        self.heartbeatIntervalMs = heartbeatIntervalMs
    }

    enum CodingKeys: String, CodingKey {
        case server
        case controllerVersion = "controller_version"
        case heartbeatIntervalMs = "heartbeat_interval_ms"
    }

    /// Checks the name and the interval.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        try Wire.checkText(controllerVersion, field: "controller_version", maxLength: 64)
        try Wire.checkRange(heartbeatIntervalMs, 100...600_000, field: "heartbeat_interval_ms")
    }
}
