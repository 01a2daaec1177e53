import Foundation
import Scheduling
import SnapfleetCore
import SnapfleetProtocol

/// Puts `status_report` pages together from what the controller holds in memory: the registry's
/// agents, the backup history, the running and queued backups, the schedule.
struct FleetStatusBuilder: Sendable {
    let config: ControllerConfig
    /// Every configured server's agent, sorted by server (`AgentRegistry.list()`).
    let agents: [AgentInfo]
    /// Each server's last WAL archiving report (`AgentRegistry.archivingReports()`).
    let archiving: [String: WALArchivingReport]
    let history: FleetHistory
    let active: ActiveBackups
    let scheduler: BackupScheduler
    let slots: FairSlots
    /// When this controller started: an agent never seen has been away since then.
    let startedAt: Date

    /// One page: the requested server, or the servers after `request.after`, at most a page of them.
    func report(_ request: StatusRequest, now: Date) throws(SnapfleetError) -> StatusReport {
        var wanted = agents
        if let server = request.server {
            wanted = agents.filter { $0.server == server }
            guard !wanted.isEmpty else { throw SnapfleetError(.unknownServer, "no server named '\(server)' in the configuration") }
        }
        if let after = request.after { wanted = wanted.filter { $0.server > after } }
        let page = wanted.prefix(StatusReport.pageSize)
        let health = ServerHealth(thresholds: config.monitoring, now: now)
        let usage = slots.usage
        return StatusReport(
            generatedAt: Timestamp.rfc3339(now), servers: page.map { status(of: $0, health: health, now: now) }, more: wanted.count > page.count,
            backupsRunning: usage.holding, backupsQueued: usage.waiting, maxConcurrentBackups: slots.capacity)
    }

    /// Every server, unpaged (for `/metrics`).
    func allServers(now: Date) -> [ServerStatus] {
        let health = ServerHealth(thresholds: config.monitoring, now: now)
        return agents.map { status(of: $0, health: health, now: now) }
    }

    private func status(of agent: AgentInfo, health: ServerHealth, now: Date) -> ServerStatus {
        let server = agent.server
        let settings = config.servers[server]
        let record = history.record(of: server)
        var status = ServerStatus(server: server, agentConnected: agent.connected)
        status.agentSince = agent.connected ? agent.connectedSince : (agent.lastHeartbeat ?? Timestamp.rfc3339(startedAt))
        status.lastBackup = record.lastBackup
        status.lastGoodBackup = record.lastGood
        if let attemptAt = record.lastAttemptAt, let error = record.lastAttemptError {
            status.lastAttemptError = "\(error) (at \(Timestamp.rfc3339(attemptAt)))"
        }
        status.schedule = settings?.schedule
        status.nextBackup = scheduler.nextSlot(of: server).map(Timestamp.rfc3339)
        status.missedSlot = record.missedSlot.map(Timestamp.rfc3339)
        status.running = active.progress(of: server)
        status.queued = active.isQueued(server)
        status.retentionPolicy = settings?.retentionPolicy
        status.retention = record.retention
        if let report = archiving[server] {
            status.walArchiving = report
            status.walLagSeconds = report.oldestWaitingSince.flatMap(Timestamp.parse).map { max(0, Int(now.timeIntervalSince($0))) } ?? 0
        }
        health.judge(&status, expectsBackups: settings?.destination != nil, history: record)
        return status
    }
}
