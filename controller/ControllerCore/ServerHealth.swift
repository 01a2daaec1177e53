import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// Judges a server's state against the `monitoring:` limits, as a Nagios plugin would: each
/// problem a level and a sentence, worst first.
struct ServerHealth: Sendable {
    let thresholds: MonitoringThresholds
    let now: Date

    /// One finding.
    struct Problem: Sendable, Equatable {
        let level: HealthLevel
        let text: String
    }

    /// Fills in `status.level` and `status.problems`. `expectsBackups`: the server has a
    /// destination (a server without one is only watched for its agent); `history` is what the
    /// controller knows of its catalog.
    func judge(_ status: inout ServerStatus, expectsBackups: Bool, history: FleetHistory.Record) {
        var problems = agentProblems(status)
        if expectsBackups, history.loaded { problems += backupProblems(status, catalogError: history.catalogError) }
        if expectsBackups { problems += walProblems(status) }
        problems.sort { $0.level > $1.level }
        status.level = problems.map(\.level).max() ?? .ok
        status.problems = problems.prefix(32).map(\.text)
    }

    private func agentProblems(_ status: ServerStatus) -> [Problem] {
        guard !status.agentConnected, let since = status.agentSince.flatMap(Timestamp.parse) else { return [] }
        let minutes = Int(now.timeIntervalSince(since) / 60)
        let level = Self.level(
            of: Double(minutes), warning: Double(thresholds.agentAwayWarningMinutes), critical: Double(thresholds.agentAwayCriticalMinutes))
        guard let level else { return [] }
        let limit = level == .critical ? thresholds.agentAwayCriticalMinutes : thresholds.agentAwayWarningMinutes
        return [Problem(level: level, text: "the agent has been away for \(minutes) minutes (\(level.rawValue.lowercased()) past \(limit))")]
    }

    private func backupProblems(_ status: ServerStatus, catalogError: String?) -> [Problem] {
        var problems: [Problem] = []
        if let catalogError { problems.append(Problem(level: .warning, text: "the catalog could not be read: \(catalogError)")) }
        if let good = status.lastGoodBackup {
            problems += ageProblem(good)
        } else if catalogError == nil {
            problems.append(Problem(level: .critical, text: "no DONE backup in the catalog"))
        }
        if let last = status.lastBackup, last.status == "FAILED", last.backupID > (status.lastGoodBackup?.backupID ?? "") {
            problems.append(Problem(level: .warning, text: "the last backup \(last.backupID) FAILED: \(last.error ?? "no reason recorded")"))
        }
        if let attempt = status.lastAttemptError {
            problems.append(Problem(level: .warning, text: "the last backup attempt failed: \(attempt)"))
        }
        return problems
    }

    private func walProblems(_ status: ServerStatus) -> [Problem] {
        guard let report = status.walArchiving else { return [] }
        var problems: [Problem] = []
        let minutes = (status.walLagSeconds ?? 0) / 60
        let limits = (warning: thresholds.walLagWarningMinutes, critical: thresholds.walLagCriticalMinutes)
        if let level = Self.level(of: Double(minutes), warning: Double(limits.warning), critical: Double(limits.critical)) {
            let limit = level == .critical ? limits.critical : limits.warning
            let files = report.waiting == 1 ? "1 WAL file waits" : "\(report.waiting) WAL files wait"
            let text = "\(files) to be archived, the oldest for \(minutes) minutes (\(level.rawValue.lowercased()) past \(limit))"
            problems.append(Problem(level: level, text: text))
        }
        if report.failing, let name = report.lastFailedWAL {
            problems.append(Problem(level: .warning, text: "WAL archiving is failing: \(name): \(report.lastError ?? "no reason given")"))
        }
        return problems
    }

    private func ageProblem(_ good: BackupSummary) -> [Problem] {
        guard let ended = (good.finishedAt ?? good.startedAt).flatMap(Timestamp.parse) else { return [] }
        let hours = now.timeIntervalSince(ended) / 3600
        let level = Self.level(of: hours, warning: Double(thresholds.backupAgeWarningHours), critical: Double(thresholds.backupAgeCriticalHours))
        guard let level else { return [] }
        let limit = level == .critical ? thresholds.backupAgeCriticalHours : thresholds.backupAgeWarningHours
        let age = (hours * 10).rounded(.down) / 10
        return [
            Problem(level: level, text: "the last DONE backup \(good.backupID) is \(age) hours old (\(level.rawValue.lowercased()) past \(limit))")
        ]
    }

    /// CRITICAL at or past `critical`, WARNING at or past `warning`, nil below both.
    private static func level(of value: Double, warning: Double, critical: Double) -> HealthLevel? {
        if value >= critical { return .critical }
        if value >= warning { return .warning }
        return nil
    }
}
