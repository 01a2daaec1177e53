import Foundation
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

/// The backup session as the controller drives it: messages to the real agent process, a real cluster.
@Suite("the agent's backup session over the wire", .serialized, .requires(BuiltProducts.exists("snapfleet-agent"), "run swift build first"))
struct AgentBackupSessionTests {
    @Test("start, stop: the label names the start WAL location; a second backup meanwhile is refused")
    func startAndStop() throws {
        let cluster = try PostgresCluster()
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        #expect(agent.hello.postgres.facts?.systemIdentifier == (try cluster.controlData()["Database system identifier"]))

        let started = try agent.request(
            .backupStart(
                BackupStart(backupID: "20261125T120000", label: "snapfleet backup pg1 20261125T120000", fastCheckpoint: true, leaseSeconds: 60)))
        guard case .backupState(let state) = started else { Issue.record("start answered \(String(describing: started))"); return }
        #expect(state.phase == .running)
        let start = try #require(state.start)

        let other = try agent.request(.backupStart(BackupStart(backupID: "20261125T120001", label: "other", fastCheckpoint: true, leaseSeconds: 60)))
        guard case .error(let refusal) = other else { Issue.record("second start answered \(String(describing: other))"); return }
        #expect(refusal.code == .backupInProgress)
        #expect(refusal.retryable)

        let stopped = try agent.request(.backupStop(BackupStop(backupID: "20261125T120000", waitForArchive: true)))
        guard case .backupStopped(let result) = stopped else { Issue.record("stop answered \(String(describing: stopped))"); return }
        #expect(result.backupLabel.contains("START WAL LOCATION: \(start.lsn) (file \(start.walFile))"))
        #expect(result.backupLabel.contains("LABEL: snapfleet backup pg1 20261125T120000"))
        #expect(result.start == start)

        let again = try agent.request(.backupStop(BackupStop(backupID: "20261125T120000", waitForArchive: true)))
        #expect(again == stopped, "a repeated stop returns the same result")
    }

    @Test("a lease that runs out ends the backup, the agent says so, and PostgreSQL holds no backup session")
    func leaseExpiry() throws {
        let cluster = try PostgresCluster()
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        let started = try agent.request(
            .backupStart(BackupStart(backupID: "20261125T130000", label: "lease test", fastCheckpoint: true, leaseSeconds: 4)))
        guard case .backupState(let state) = started else { Issue.record("start answered \(String(describing: started))"); return }
        #expect(state.phase == .running)
        #expect(
            try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'").trimmingCharacters(
                in: .whitespacesAndNewlines) == "1")

        let notice = try agent.notification(timeout: .seconds(15)) { if case .backupLeaseExpired = $0 { true } else { false } }
        guard case .backupLeaseExpired(let expired) = notice else { Issue.record("no lease expiry notice:\n\(agent.process.log)"); return }
        #expect(expired.backupID == "20261125T130000")

        let status = try agent.request(.backupStatus(BackupReference(backupID: "20261125T130000")))
        guard case .backupState(let after) = status else { Issue.record("status answered \(String(describing: status))"); return }
        #expect(after.phase == .leaseExpired)
        #expect(
            try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'").trimmingCharacters(
                in: .whitespacesAndNewlines) == "0")
        // Nothing is left in backup mode: a new backup can start and stop on a fresh session.
        let label = try cluster.psql("SELECT pg_backup_start('probe', true); SELECT labelfile FROM pg_backup_stop(false);")
        #expect(label.contains("LABEL: probe"))
    }

    @Test("requests for unknown backups get backup_not_found")
    func unknownBackup() throws {
        let cluster = try PostgresCluster.shared()
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        let reply = try agent.request(.backupStop(BackupStop(backupID: "20000101T000000", waitForArchive: false)))
        guard case .error(let error) = reply else { Issue.record("answered \(String(describing: reply))"); return }
        #expect(error.code == .backupNotFound)
    }

    @Test("stopping the agent ends a running backup instead of leaving PostgreSQL in backup mode")
    func stopEndsBackup() throws {
        let cluster = try PostgresCluster()
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        let started = try agent.request(
            .backupStart(BackupStart(backupID: "20261125T140000", label: "shutdown test", fastCheckpoint: true, leaseSeconds: 600)))
        guard case .backupState = started else { Issue.record("start answered \(String(describing: started))"); return }
        agent.process.stop()
        #expect(
            try eventually {
                try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'").trimmingCharacters(
                    in: .whitespacesAndNewlines) == "0"
            })
    }
}
