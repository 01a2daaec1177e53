import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// Renders the `agents` command's output, as a table or as JSON.
public enum AgentsReport {
    /// A JSON array with one object per server; every key is always present (null when unknown).
    public static func json(_ agents: [AgentInfo]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // AgentInfo and JSONValue hold only strings, numbers and bools: encoding cannot fail.
        return String(decoding: try! encoder.encode(agents.map(row)), as: UTF8.self)
    }

    /// One server as a JSON object, with null for what is unknown (the wire leaves such keys out).
    private static func row(_ agent: AgentInfo) -> JSONValue {
        let encoded = try! JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(agent))
        guard case .object(var fields) = encoded else { return encoded }
        for key in AgentInfo.CodingKeys.allCases where fields[key.rawValue] == nil { fields[key.rawValue] = .null }
        return .object(fields)
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
