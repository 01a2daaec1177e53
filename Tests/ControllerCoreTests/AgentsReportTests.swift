import ControllerCore
import Foundation
import SnapfleetProtocol
import Testing

@Suite("AgentsReport: JSON with every key, and an aligned table")
struct AgentsReportTests {
    let agents = [
        AgentInfo(
            server: "pg1", connected: true, agentVersion: "0.1.0", hostname: "db1.example", postgresAvailable: true,
            pgVersionNum: 150_018, pgVersion: "15.18 (Debian 15.18-0+deb12u1)", systemIdentifier: "7441234567890123456",
            dataDirectory: "/var/lib/postgresql/15/main", connectedSince: "2025-11-25T21:30:00Z", lastHeartbeat: "2025-11-25T21:31:00Z"),
        AgentInfo(
            server: "pg2-long-name", connected: false, agentVersion: "0.1.0", hostname: "db2", postgresAvailable: false,
            postgresError: "connection refused", connectedSince: "2025-11-25T21:00:00Z", lastHeartbeat: "2025-11-25T21:10:00Z"),
        AgentInfo(server: "pg3", connected: false),
    ]

    let allKeys: Set<String> = [
        "server", "connected", "agent_version", "hostname", "postgres_available", "postgres_error", "pg_version_num",
        "pg_version", "system_identifier", "data_directory", "connected_since", "last_heartbeat",
    ]

    @Test("every JSON object has every key, null when unknown")
    func jsonHasEveryKey() throws {
        let text = AgentsReport.json(agents)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(objects.count == 3)
        for object in objects {
            #expect(Set(object.keys) == allKeys)
        }
        #expect(objects[0]["pg_version_num"] as? Int == 150_018)
        #expect(objects[0]["postgres_error"] is NSNull)
        #expect(objects[1]["postgres_available"] as? Bool == false)
        #expect(objects[1]["system_identifier"] is NSNull)
        #expect(objects[2]["connected"] as? Bool == false)
        #expect(objects[2].filter { !($0.value is NSNull) }.keys.sorted() == ["connected", "server"])
        #expect(text.contains("\"data_directory\" : \"/var/lib/postgresql/15/main\""), "slashes are not escaped")
    }

    @Test("an empty fleet is an empty JSON array")
    func jsonEmpty() throws {
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(AgentsReport.json([]).utf8)) as? [Any])
        #expect(objects.isEmpty)
    }

    @Test("the table has a header and one line per server, with every column aligned")
    func tableAligned() throws {
        let lines = AgentsReport.table(agents).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4)
        let header = try #require(lines.first)
        let titles = ["SERVER", "CONNECTED", "AGENT", "HOST", "POSTGRES", "SYSTEM IDENTIFIER", "DATA DIRECTORY", "CONNECTED SINCE", "LAST HEARTBEAT"]
        let starts = try titles.map { title in try #require(header.range(of: title)).lowerBound.utf16Offset(in: header) }
        #expect(starts == starts.sorted())
        #expect(starts.first == 0)

        let expectedCells = [
            [
                "pg1", "yes", "0.1.0", "db1.example", "15.18", "7441234567890123456", "/var/lib/postgresql/15/main", "2025-11-25T21:30:00Z",
                "2025-11-25T21:31:00Z",
            ],
            ["pg2-long-name", "no", "0.1.0", "db2", "down", "-", "-", "2025-11-25T21:00:00Z", "2025-11-25T21:10:00Z"],
            ["pg3", "no", "-", "-", "-", "-", "-", "-", "-"],
        ]
        for (line, cells) in zip(lines.dropFirst(), expectedCells) {
            let characters = Array(line)
            for (column, cell) in cells.enumerated() {
                let start = starts[column]
                #expect(String(characters[start..<min(characters.count, start + cell.count)]) == cell, "column \(titles[column]) of \(line)")
                #expect(start == 0 || characters[start - 1] == " ")
            }
            #expect(line == line.trimmingCharacters(in: .whitespaces), "no trailing blanks")
        }
        // Two blanks between the widest cell of a column and the next column.
        #expect(starts[1] == "pg2-long-name".count + 2)
    }

    @Test("an empty fleet is just the header")
    func tableEmpty() {
        #expect(
            AgentsReport.table([]) == "SERVER  CONNECTED  AGENT  HOST  POSTGRES  SYSTEM IDENTIFIER  DATA DIRECTORY  CONNECTED SINCE  LAST HEARTBEAT")
    }
}
