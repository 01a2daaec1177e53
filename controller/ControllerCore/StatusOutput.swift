import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// Renders `status`: a table (one line per server, its problems below it, a fleet summary line
/// last) or JSON; the worst level gives the exit status.
public enum StatusOutput {
    /// The fleet summary: counts by level and the backup slots, as the first line monitoring shows.
    public static func summary(_ servers: [ServerStatus], last page: StatusReport) -> String {
        let worst = servers.map(\.level).max() ?? .ok
        let counts = HealthLevel.allCases.map { level in "\(servers.filter { $0.level == level }.count) \(level.rawValue)" }
        return "SNAPFLEET \(worst.rawValue) - \(servers.count) servers: \(counts.joined(separator: ", ")); "
            + "\(page.backupsRunning) backups running, \(page.backupsQueued) queued (max \(page.maxConcurrentBackups))"
    }

    /// An aligned table with a header line, each server's problems indented under it.
    public static func table(_ servers: [ServerStatus]) -> String {
        let header = ["SERVER", "LEVEL", "AGENT", "LAST BACKUP", "STATUS", "LAST DONE", "NEXT", "WAL", "NOW"]
        let rows = servers.map { server in
            [
                server.server, server.level.rawValue, server.agentConnected ? "connected" : "away", server.lastBackup?.backupID ?? "-",
                server.lastBackup?.status ?? "-", server.lastGoodBackup?.finishedAt ?? "-", server.nextBackup ?? "-", wal(server), activity(server),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        var lines = [align(header, widths)]
        for (server, row) in zip(servers, rows) {
            lines.append(align(row, widths))
            lines += server.problems.map { "  - " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    /// Every server as JSON, with the summary's numbers.
    public static func json(_ servers: [ServerStatus], last page: StatusReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let whole = StatusReport(
            generatedAt: page.generatedAt, servers: [], more: false, backupsRunning: page.backupsRunning, backupsQueued: page.backupsQueued,
            maxConcurrentBackups: page.maxConcurrentBackups)
        struct Document: Encodable {
            let fleet: StatusReport
            let level: HealthLevel
            let servers: [ServerStatus]
        }
        // Plain strings, numbers and bools: encoding cannot fail.
        let document = Document(fleet: whole, level: servers.map(\.level).max() ?? .ok, servers: servers)
        return String(decoding: try! encoder.encode(document), as: UTF8.self)
    }

    /// "up to date", or how many files wait and for how long; "failing" when the last upload failed.
    private static func wal(_ server: ServerStatus) -> String {
        guard let report = server.walArchiving else { return "-" }
        let lag = server.walLagSeconds ?? 0
        var text = report.waiting == 0 ? "up to date" : "\(report.waiting) waiting \(lag / 60)m\(lag % 60)s"
        if report.failing { text += ", failing" }
        return text
    }

    private static func activity(_ server: ServerStatus) -> String {
        if let running = server.running { return "\(running.phase) \(running.seconds)s" + (running.detail.map { " (\($0))" } ?? "") }
        return server.queued ? "queued" : "-"
    }

    private static func align(_ row: [String], _ widths: [Int]) -> String {
        row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
}
