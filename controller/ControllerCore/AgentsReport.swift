import Foundation
import SnapfleetProtocol

/// Renders the `agents` command's output, as a table or as JSON.
public enum AgentsReport {
    /// A JSON array with one object per server; every key is always present (null when unknown).
    public static func json(_ agents: [AgentInfo]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // AgentRow only holds strings, numbers and bools: encoding cannot fail.
        return String(decoding: try! encoder.encode(agents.map(AgentRow.init)), as: UTF8.self)
    }

    /// An aligned table with a header line.
    public static func table(_ agents: [AgentInfo]) -> String {
        let header = ["SERVER", "CONNECTED", "AGENT", "HOST", "POSTGRES", "SYSTEM IDENTIFIER", "DATA DIRECTORY", "CONNECTED SINCE", "LAST HEARTBEAT"]
        let rows = agents.map { agent in
            [
                agent.server, agent.connected ? "yes" : "no", agent.agentVersion ?? "-", agent.hostname ?? "-",
                postgresColumn(agent), agent.systemIdentifier ?? "-", agent.dataDirectory ?? "-",
                agent.connectedSince ?? "-", agent.lastHeartbeat ?? "-",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    private static func postgresColumn(_ agent: AgentInfo) -> String {
        switch (agent.postgresAvailable, agent.pgVersion) {
        case (true?, let version?): version.split(separator: " ").first.map(String.init) ?? version
        case (false?, _): "down"
        default: "-"
        }
    }
}

/// One server in the JSON output.
private struct AgentRow: Encodable {
    let agent: AgentInfo

    enum CodingKeys: String, CodingKey {
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

    init(_ agent: AgentInfo) { self.agent = agent }

    /// Encodes nil as null so every object has the same keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agent.server, forKey: .server)
        try container.encode(agent.connected, forKey: .connected)
        try container.encode(agent.hostname, forKey: .hostname)
        try container.encode(agent.agentVersion, forKey: .agentVersion)
        try container.encode(agent.postgresAvailable, forKey: .postgresAvailable)
        try container.encode(agent.postgresError, forKey: .postgresError)
        try container.encode(agent.pgVersionNum, forKey: .pgVersionNum)
        try container.encode(agent.pgVersion, forKey: .pgVersion)
        try container.encode(agent.systemIdentifier, forKey: .systemIdentifier)
        try container.encode(agent.dataDirectory, forKey: .dataDirectory)
        try container.encode(agent.connectedSince, forKey: .connectedSince)
        try container.encode(agent.lastHeartbeat, forKey: .lastHeartbeat)
    }
}
