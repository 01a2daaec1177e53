import CloudSnapshots
import Foundation
import ProgramSupport
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// What the controller counts as backups end, for `/metrics`: outcomes by server and status,
/// and the spread of backup windows, run durations and snapshot waits (fleet-wide histograms:
/// per-server ones would multiply the series by the fleet's size).
final class FleetMetrics: Sendable {
    private struct State {
        var outcomes: [String: [String: Int]] = [:]
        var window = Histogram(bounds: FleetMetrics.windowBounds)
        var duration = Histogram(bounds: FleetMetrics.durationBounds)
        var snapshotWait = Histogram(bounds: FleetMetrics.durationBounds)
    }

    /// Seconds: a window is meant to be short.
    static let windowBounds: [Double] = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300]
    /// Seconds: a run lasts minutes to hours, depending on the cloud.
    static let durationBounds: [Double] = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]

    private let state = Mutex(State())

    /// Nothing counted yet.
    init() {}

    /// Counts a backup that ended with `status` (DONE, FAILED), with its measures when known.
    func backupEnded(server: String, status: String, window: TimeInterval?, duration: TimeInterval, snapshotWait: TimeInterval?) {
        state.withLock { state in
            state.outcomes[server, default: [:]][status, default: 0] += 1
            if let window { state.window.observe(window) }
            state.duration.observe(duration)
            if let snapshotWait { state.snapshotWait.observe(snapshotWait) }
        }
    }

    /// Writes the backup families.
    func write(into page: inout PrometheusText) {
        let state = state.withLock { $0 }
        page.family("snapfleet_backups_total", "counter", help: "Backups this controller ran to an end, by server and status.")
        for server in state.outcomes.keys.sorted() {
            for (status, count) in state.outcomes[server]!.sorted(by: { $0.key < $1.key }) {
                page.sample("snapfleet_backups_total", [("server", server), ("status", status)], Double(count))
            }
        }
        page.family("snapfleet_backup_window_seconds", "histogram", help: "Time PostgreSQL spent in backup mode, per backup.")
        page.histogram("snapfleet_backup_window_seconds", [], state.window)
        page.family("snapfleet_backup_duration_seconds", "histogram", help: "Time from the start of a backup to its DONE or FAILED record.")
        page.histogram("snapfleet_backup_duration_seconds", [], state.duration)
        page.family(
            "snapfleet_snapshot_wait_seconds", "histogram", help: "Time from the end of the backup window until every snapshot completed.")
        page.histogram("snapfleet_snapshot_wait_seconds", [], state.snapshotWait)
    }
}

/// The whole `/metrics` page: the backup counts, each server's state as `status` judges it, the
/// agents' WAL archiving, the fleet's slots and the cloud API calls.
struct MetricsPage {
    let metrics: FleetMetrics
    let servers: [ServerStatus]
    let usage: (holding: Int, waiting: Int)
    let apiCalls: [CloudAPIGate.Count]
    /// The controller's ZeroMQ messages so far.
    let messages: (received: Int, sent: Int)

    /// The text exposition.
    func render(now: Date) -> String {
        var page = PrometheusText()
        metrics.write(into: &page)
        writeServers(into: &page, now: now)
        writeWAL(into: &page)
        page.family("snapfleet_backups_running", "gauge", help: "Backups holding one of the fleet's slots.")
        page.sample("snapfleet_backups_running", [], Double(usage.holding))
        page.family("snapfleet_backups_queued", "gauge", help: "Backups waiting for a slot (max_concurrent_backups).")
        page.sample("snapfleet_backups_queued", [], Double(usage.waiting))
        writeAPICalls(into: &page)
        page.family("snapfleet_messages_total", "counter", help: "ZeroMQ messages the controller received and sent (agents and operators).")
        page.sample("snapfleet_messages_total", [("direction", "received")], Double(messages.received))
        page.sample("snapfleet_messages_total", [("direction", "sent")], Double(messages.sent))
        return page.text
    }

    private func writeServers(into page: inout PrometheusText, now: Date) {
        page.family("snapfleet_agents_connected", "gauge", help: "Configured servers whose agent is connected.")
        page.sample("snapfleet_agents_connected", [], Double(servers.filter(\.agentConnected).count))
        page.family("snapfleet_agent_connected", "gauge", help: "1 while the server's agent is connected.")
        for server in servers { page.sample("snapfleet_agent_connected", [("server", server.server)], server.agentConnected ? 1 : 0) }
        page.family("snapfleet_server_level", "gauge", help: "The server's status level: 0 OK, 1 WARNING, 2 CRITICAL.")
        for server in servers { page.sample("snapfleet_server_level", [("server", server.server)], Double(server.level.exitStatus)) }
        page.family("snapfleet_last_good_backup_timestamp_seconds", "gauge", help: "When the newest DONE backup ended (Unix time).")
        for server in servers {
            guard let ended = (server.lastGoodBackup?.finishedAt ?? server.lastGoodBackup?.startedAt).flatMap(Timestamp.parse) else { continue }
            page.sample("snapfleet_last_good_backup_timestamp_seconds", [("server", server.server)], ended.timeIntervalSince1970.rounded())
        }
    }

    private func writeWAL(into page: inout PrometheusText) {
        let reporting = servers.compactMap { server in server.walArchiving.map { (server.server, $0, server.walLagSeconds ?? 0) } }
        page.family("snapfleet_wal_archived_total", "counter", help: "WAL files the server's agent archived since it started.")
        for (server, report, _) in reporting { page.sample("snapfleet_wal_archived_total", [("server", server)], Double(report.archivedCount)) }
        page.family("snapfleet_wal_failed_total", "counter", help: "WAL uploads that failed since the server's agent started.")
        for (server, report, _) in reporting { page.sample("snapfleet_wal_failed_total", [("server", server)], Double(report.failedCount)) }
        page.family("snapfleet_wal_waiting", "gauge", help: "WAL files ready and not yet archived.")
        for (server, report, _) in reporting { page.sample("snapfleet_wal_waiting", [("server", server)], Double(report.waiting)) }
        page.family("snapfleet_wal_archive_lag_seconds", "gauge", help: "How long the oldest WAL file not yet archived has waited.")
        for (server, _, lag) in reporting { page.sample("snapfleet_wal_archive_lag_seconds", [("server", server)], Double(lag)) }
    }

    private func writeAPICalls(into page: inout PrometheusText) {
        page.family("snapfleet_cloud_api_calls_total", "counter", help: "Cloud API calls, by provider and action (retries each count).")
        for call in apiCalls {
            page.sample("snapfleet_cloud_api_calls_total", [("provider", call.provider), ("action", call.action)], Double(call.calls))
        }
        page.family("snapfleet_cloud_api_errors_total", "counter", help: "Cloud API calls that failed, by provider, action and error.")
        for call in apiCalls {
            for (error, count) in call.errors.sorted(by: { $0.key < $1.key }) {
                page.sample(
                    "snapfleet_cloud_api_errors_total", [("provider", call.provider), ("action", call.action), ("error", error)], Double(count))
            }
        }
    }
}
