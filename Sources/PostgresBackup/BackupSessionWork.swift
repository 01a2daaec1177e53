import SnapfleetCore

/// What the driver does on its serial queue; each step reports its outcome back to the machine.
extension BackupSessionDriver {
    /// Opens the backup's session and calls `pg_backup_start`.
    func runStart(_ backupID: String, label: String, fastCheckpoint: Bool) {
        guard isStarting(backupID) else { return }  // aborted or expired while queued
        do {
            let session = try BackupSession(backupID: backupID, configuration: configuration)
            slot.session = session
            calls.attach(session.connection.cancelHandle)
            let info = try calls.run(for: backupID) { try session.start(label: label, fastCheckpoint: fastCheckpoint) }
            handle(.startSucceeded(backupID: backupID, info))
        } catch {
            handle(.startFailed(backupID: backupID, Self.snapfleetError(error)))
        }
    }

    /// Calls `pg_backup_stop` on the backup's session.
    func runStop(_ backupID: String, waitForArchive: Bool) {
        do {
            guard let session = slot.session(for: backupID) else {
                throw SnapfleetError(.internalError, "backup \(backupID) has no open session")
            }
            let info = try calls.run(for: backupID) { try session.stop(waitForArchive: waitForArchive) }
            handle(.stopSucceeded(backupID: backupID, info))
        } catch {
            handle(.stopFailed(backupID: backupID, Self.snapfleetError(error)))
        }
    }

    /// Closes the backup's session, first ending the backup on the server if it may still run.
    func closeSession(_ backupID: String, endingBackup: Bool) {
        guard let session = slot.session(for: backupID) else { return }
        if endingBackup { session.endBackup(statementTimeout: configuration.endStatementTimeout) }
        slot.session = nil
        calls.detach()
    }

    /// Reports a session that died while the backup was running between calls.
    func checkLiveness(_ backupID: String) {
        guard let session = slot.session(for: backupID), !session.connection.isAlive else { return }
        let error = SnapfleetError(
            .postgresUnavailable, "the postgresql session holding backup \(backupID) was lost",
            hint: "postgresql restarted or the backend was terminated; start a new backup")
        handle(.sessionLost(backupID: backupID, error))
    }

    private func isStarting(_ backupID: String) -> Bool {
        core.withLock { $0.machine.backup.map { $0.backupID == backupID && $0.phase == .starting } ?? false }
    }

    private static func snapfleetError(_ error: any Error) -> SnapfleetError {
        error as? SnapfleetError ?? SnapfleetError(.internalError, "unexpected error: \(error)")
    }
}
