import SnapfleetCore

/// `agents`: the controller's view of every configured server and its agent.
public struct AgentsList: WireBody {
    /// The most servers one page holds (a thousand servers' entries would not fit one message).
    public static let pageSize = 200

    /// One entry per configured server of this page, sorted by server name.
    public var agents: [AgentInfo]
    /// Whether more servers follow: ask again with `after` set to the last one here.
    public var more: Bool

    /// Creates a page.
    public init(agents: [AgentInfo], more: Bool = false) {
        self.agents = agents
        self.more = more
    }

    /// Checks every entry and the page's size.
    public func validate() throws(SnapfleetError) {
        guard agents.count <= Self.pageSize else {
            throw SnapfleetError(.invalidBody, "agents holds \(agents.count) entries, more than a page of \(Self.pageSize)")
        }
        for agent in agents { try agent.validate() }
    }

    enum CodingKeys: String, CodingKey {
        case agents, more
    }
}

/// `agents_list`: a page of the fleet's agents.
public struct AgentsListRequest: WireBody {
    /// The page after this server name (servers come sorted by name); the first page when nil.
    public var after: String?

    /// Creates a request.
    public init(after: String? = nil) { self.after = after }

    /// Checks the name.
    public func validate() throws(SnapfleetError) {
        if let after { try Wire.checkServerName(after, field: "after") }
    }

    enum CodingKeys: String, CodingKey {
        case after
    }
}

/// One configured server and what its connected agent last reported.
public struct AgentInfo: WireBody {
    /// The server name.
    public var server: String
    /// Whether an agent for it is connected now.
    public var connected: Bool
    /// The agent's snapfleet version.
    public var agentVersion: String?
    /// The agent's host name.
    public var hostname: String?
    /// Whether the agent could reach PostgreSQL at its last report.
    public var postgresAvailable: Bool?
    /// Why it could not, if it could not.
    public var postgresError: String?
    /// PostgreSQL's `server_version_num`.
    public var pgVersionNum: Int?
    /// PostgreSQL's `server_version`.
    public var pgVersion: String?
    /// The cluster's system identifier.
    public var systemIdentifier: String?
    /// PostgreSQL's data directory.
    public var dataDirectory: String?
    /// When the agent connected (RFC 3339).
    public var connectedSince: String?
    /// When the last message or heartbeat from it arrived (RFC 3339).
    public var lastHeartbeat: String?

    /// Creates an entry.
    public init(
        server: String, connected: Bool, agentVersion: String? = nil, hostname: String? = nil,
        postgresAvailable: Bool? = nil, postgresError: String? = nil, pgVersionNum: Int? = nil,
        pgVersion: String? = nil, systemIdentifier: String? = nil, dataDirectory: String? = nil,
        connectedSince: String? = nil, lastHeartbeat: String? = nil
    ) {
        self.server = server
        self.connected = connected
        self.agentVersion = agentVersion
        self.hostname = hostname
        self.postgresAvailable = postgresAvailable
        self.postgresError = postgresError
        self.pgVersionNum = pgVersionNum
        self.pgVersion = pgVersion
        self.systemIdentifier = systemIdentifier
        self.dataDirectory = dataDirectory
        self.connectedSince = connectedSince
        self.lastHeartbeat = lastHeartbeat
    }

    /// The wire keys, public so reports can list every one of them.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case server, connected, hostname
        case agentVersion = "agent_version"
        case postgresAvailable = "postgres_available"
        case postgresError = "postgres_error"
        case pgVersionNum = "pg_version_num"
        case pgVersion = "pg_version"
        case systemIdentifier = "system_identifier"
        case dataDirectory = "data_directory"
        case connectedSince = "connected_since"
        case lastHeartbeat = "last_heartbeat"
    }

    /// Checks the name and bounds every text.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        let texts: [(String?, String)] = [
            (agentVersion, "agent_version"), (hostname, "hostname"), (postgresError, "postgres_error"), (pgVersion, "pg_version"),
            (systemIdentifier, "system_identifier"), (dataDirectory, "data_directory"), (connectedSince, "connected_since"),
            (lastHeartbeat, "last_heartbeat"),
        ]
        for case (let text?, let field) in texts { try Wire.checkText(text, field: field) }
    }
}
