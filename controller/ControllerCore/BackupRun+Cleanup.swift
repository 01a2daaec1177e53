import CloudSnapshots
import Foundation
import SnapfleetCore
import SnapfleetProtocol

extension BackupRun {
    /// Records the first failure and starts cleaning up: ends the agent's session, deletes every
    /// snapshot taken so far, and waits for creates still in flight (their snapshots get deleted too).
    mutating func fail(_ step: BackupStep, _ cause: String, at now: Date) -> [BackupAction] {
        guard isHealthy else { return [] }
        failure = BackupFailure(step: step, cause: cause)
        phase = .cleaningUp
        describing.removeAll()
        // Locks still in flight may succeed: their snapshots then refuse deletion and are recorded.
        pendingLocks.removeAll()
        return abortSession() + delete(taken) + concludeCleanupIfDone()
    }

    /// `backup_abort` if the agent may still hold the backup open.
    private mutating func abortSession() -> [BackupAction] {
        guard session == .requested || session == .running || session == .stopRequested else { return [] }
        session = .ended
        abortPending = true
        return [.abortAgentBackup(BackupReference(backupID: plan.backupID))]
    }

    /// Deletes snapshots not already being deleted.
    mutating func delete(_ snapshots: [TakenSnapshot]) -> [BackupAction] {
        let fresh = snapshots.filter { pendingDeletes.insert($0.snapshot.id).inserted }
        return fresh.map { .deleteSnapshot($0.snapshot) }
    }

    mutating func snapshotDeleted(id: String, _ result: Result<Void, SnapfleetError>) -> [BackupAction] {
        guard pendingDeletes.remove(id) != nil else { return [] }
        switch result {
        case .success:
            taken.removeAll { $0.snapshot.id == id }
            strays.removeAll { $0.snapshot.id == id }
            return proceedAfterDelete()
        case .failure(let error):
            // The snapshot stays in `taken`/`strays`, so the record names it.
            problems.append("snapshot \(id) could not be deleted: \(error.description)")
            return proceedAfterDelete() + rewriteFailedRecordIfLate()
        }
    }

    /// A delete answered: cleanup may be over, or a DONE run may have reconciled its last stray.
    private mutating func proceedAfterDelete() -> [BackupAction] {
        phase == .finishing ? reconcileThenRecord() : concludeCleanupIfDone()
    }

    mutating func agentAborted(_ result: Result<Void, SnapfleetError>) -> [BackupAction] {
        guard abortPending else { return [] }
        abortPending = false
        if case .failure(let error) = result {
            // The agent's lease ends the session anyway; the record says the abort did not.
            problems.append("backup_abort failed: \(error.description)")
        }
        return concludeCleanupIfDone()
    }

    /// Reconciles, then writes backup.info FAILED, once nothing is outstanding: no abort, no delete,
    /// no create in flight.
    mutating func concludeCleanupIfDone() -> [BackupAction] {
        guard phase == .cleaningUp, !recordPending, !abortPending, pendingDeletes.isEmpty, pendingCreates.isEmpty else {
            return []
        }
        return reconcileThenRecord()
    }

    /// After the run has failed and finished, a snapshot that could not be deleted must still be
    /// named somewhere: write the FAILED record again (only `failed` runs; nothing answers it).
    func rewriteFailedRecordIfLate() -> [BackupAction] {
        guard phase == .failed, pendingDeletes.isEmpty else { return [] }
        return [.writeRecord(record(.failed))]
    }
}
