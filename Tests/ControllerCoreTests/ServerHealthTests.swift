import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

@testable import ControllerCore

@Suite("ServerHealth: each finding a Nagios level against the monitoring limits, worst first")
struct ServerHealthTests {
    let now = Date(timeIntervalSince1970: 1_764_900_000)
    let health: ServerHealth
    /// What the controller knows of a catalog it has read.
    let loaded = FleetHistory.Record(loaded: true)

    init() {
        health = ServerHealth(thresholds: MonitoringThresholds(), now: now)
    }

    /// A connected server whose newest backup is DONE and `hoursAgo` old.
    func healthy(hoursAgo: Double = 1) -> ServerStatus {
        var status = ServerStatus(server: "pg1", agentConnected: true)
        let done = BackupSummary(
            backupID: "20251205T010000", status: "DONE", finishedAt: Timestamp.rfc3339(now.addingTimeInterval(-hoursAgo * 3600)))
        status.lastBackup = done
        status.lastGoodBackup = done
        return status
    }

    func judged(_ status: ServerStatus, expectsBackups: Bool = true) -> ServerStatus {
        var status = status
        health.judge(&status, expectsBackups: expectsBackups, history: loaded)
        return status
    }

    /// A report whose oldest waiting file was first seen `minutes` ago.
    func waiting(_ files: Int, minutes: Int) -> (WALArchivingReport, Int) {
        let since = now.addingTimeInterval(-Double(minutes * 60))
        return (WALArchivingReport(archivedCount: 10, waiting: files, oldestWaitingSince: Timestamp.rfc3339(since)), minutes * 60)
    }

    @Test("a connected server with a fresh DONE backup and WAL up to date is OK with no problems")
    func healthyIsOK() {
        var status = healthy()
        status.walArchiving = WALArchivingReport(archivedCount: 3, lastArchivedWAL: "000000010000000000000003")
        status.walLagSeconds = 0
        let judged = judged(status)
        #expect(judged.level == .ok)
        #expect(judged.problems.isEmpty)
    }

    @Test("the agent away: WARNING past 5 minutes, CRITICAL past 30, nothing before")
    func agentAway() {
        for (minutes, level) in [(2, HealthLevel.ok), (6, .warning), (31, .critical)] {
            var status = healthy()
            status.agentConnected = false
            status.agentSince = Timestamp.rfc3339(now.addingTimeInterval(-Double(minutes * 60)))
            #expect(judged(status).level == level, "away \(minutes) minutes")
        }
    }

    @Test("the last good backup older than 26 hours is a WARNING, older than 50 CRITICAL; none at all is CRITICAL")
    func backupAge() {
        #expect(judged(healthy(hoursAgo: 27)).level == .warning)
        #expect(judged(healthy(hoursAgo: 51)).level == .critical)
        #expect(judged(ServerStatus(server: "pg1", agentConnected: true)).problems == ["no DONE backup in the catalog"])
    }

    @Test("a FAILED backup newer than the last DONE one is a WARNING that names it and its reason")
    func failedBackup() {
        var status = healthy()
        status.lastBackup = BackupSummary(backupID: "20251205T020000", status: "FAILED", error: "snapshot: RequestLimitExceeded")
        let judged = judged(status)
        #expect(judged.level == .warning)
        #expect(judged.problems == ["the last backup 20251205T020000 FAILED: snapshot: RequestLimitExceeded"])
    }

    @Test("WAL waiting past wal_lag_warning_minutes is a WARNING, past wal_lag_critical_minutes CRITICAL; a short wait is fine")
    func walLag() {
        for (minutes, level) in [(10, HealthLevel.ok), (31, .warning), (121, .critical)] {
            var status = healthy()
            (status.walArchiving, status.walLagSeconds) = waiting(3, minutes: minutes)
            let judged = judged(status)
            #expect(judged.level == level, "waited \(minutes) minutes")
            if level != .ok {
                let limit = level == .critical ? 120 : 30
                let expected = "3 WAL files wait to be archived, the oldest for \(minutes) minutes (\(level.rawValue.lowercased()) past \(limit))"
                #expect(judged.problems == [expected])
            }
        }
    }

    @Test("an upload failure newer than the last success is a WARNING with the file and the error; an older one is not")
    func walFailing() {
        var status = healthy()
        let early = Timestamp.rfc3339(now.addingTimeInterval(-120))
        let late = Timestamp.rfc3339(now.addingTimeInterval(-60))
        status.walArchiving = WALArchivingReport(
            archivedCount: 5, failedCount: 1, lastArchivedWAL: "000000010000000000000005", lastArchivedAt: early,
            lastFailedWAL: "000000010000000000000006", lastFailedAt: late, lastError: "PUT answered 403")
        #expect(judged(status).problems == ["WAL archiving is failing: 000000010000000000000006: PUT answered 403"])

        status.walArchiving?.lastArchivedAt = Timestamp.rfc3339(now)
        #expect(judged(status).level == .ok, "archiving succeeded since")
    }

    @Test("problems come worst first, and a server without a destination is judged on its agent only")
    func orderAndScope() {
        var status = healthy(hoursAgo: 27)
        status.agentConnected = false
        status.agentSince = Timestamp.rfc3339(now.addingTimeInterval(-3600))
        (status.walArchiving, status.walLagSeconds) = waiting(1, minutes: 40)
        let judged = judged(status)
        #expect(judged.level == .critical)
        #expect(judged.problems.first == "the agent has been away for 60 minutes (critical past 30)")
        #expect(judged.problems.count == 3)
        #expect(judged.problems.contains("1 WAL file waits to be archived, the oldest for 40 minutes (warning past 30)"))

        let agentOnly = self.judged(status, expectsBackups: false)
        #expect(agentOnly.problems == ["the agent has been away for 60 minutes (critical past 30)"])
    }
}
