import SnapfleetCore

/// The agent's backup session as a pure state machine: events in, actions out, no I/O.
///
/// It holds at most one backup: the current one, or the last finished one so that repeated
/// requests for it (a controller retrying after a lost reply) are answered the same way again.
public struct BackupSessionMachine: Sendable {
    /// The current backup, or the last finished one.
    public private(set) var backup: BackupState?
    /// Requests waiting for `pg_backup_start` to return.
    private var startWaiters: [RequestID] = []
    /// Requests waiting for `pg_backup_stop` to return.
    private var stopWaiters: [RequestID] = []

    /// A machine with no backup.
    public init() {}

    /// The state of a backup, or `.backupNotFound`.
    public func state(of backupID: String) -> Result<BackupState, SnapfleetError> {
        guard let backup, backup.backupID == backupID else { return .failure(Self.notFound(backupID)) }
        return .success(backup)
    }

    /// Applies an event and returns what the driver must do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .startRequested(let request, let start): startRequested(request, start)
        case .startSucceeded(let id, let info): startSucceeded(id, info)
        case .startFailed(let id, let error): callFailed(id, during: .starting, error)
        case .renewRequested(let request, let id, let lease, let now): renewRequested(request, id, lease, now)
        case .stopRequested(let request, let id, let wait): stopRequested(request, id, wait)
        case .stopSucceeded(let id, let info): stopSucceeded(id, info)
        case .stopFailed(let id, let error): callFailed(id, during: .stopping, error)
        case .abortRequested(let request, let id): abortRequested(request, id)
        case .tick(let now): tick(now)
        case .sessionLost(let id, let error): sessionLost(id, error)
        }
    }

    // MARK: Requests

    private mutating func startRequested(_ request: RequestID, _ start: StartRequest) -> [Action] {
        if let backup, !backup.phase.isFinished, backup.backupID != start.backupID {
            return [.reply(request, .failure(Self.inProgress(backup)))]
        }
        // A repeated start answers with the backup's state: it never calls pg_backup_start twice.
        // Only a start that failed before the backup began may be tried again under the same id.
        if let backup, backup.backupID == start.backupID, !(backup.phase == .failed && backup.start == nil) {
            return [.reply(request, .success(backup))]
        }
        backup = BackupState(
            backupID: start.backupID, label: start.label, phase: .starting, leaseDeadline: start.now + start.lease)
        startWaiters = [request]
        stopWaiters = []
        return [.callStart(backupID: start.backupID, label: start.label, fastCheckpoint: start.fastCheckpoint)]
    }

    private mutating func renewRequested(
        _ request: RequestID, _ id: String, _ lease: Duration, _ now: ContinuousClock.Instant
    ) -> [Action] {
        guard var backup = activeBackup(id) else { return [.reply(request, .failure(refusal(id)))] }
        // Once a stop was requested the lease no longer counts: there is nothing to extend (PROTOCOL.md §7).
        guard backup.phase != .stopping else { return [.reply(request, .failure(Self.notRunning(backup)))] }
        backup.leaseDeadline = now + lease
        self.backup = backup
        return [.reply(request, .success(backup))]
    }

    private mutating func stopRequested(_ request: RequestID, _ id: String, _ waitForArchive: Bool) -> [Action] {
        guard var backup, backup.backupID == id else { return [.reply(request, .failure(Self.notFound(id)))] }
        switch backup.phase {
        case .starting:
            return [.reply(request, .failure(Self.stillStarting(id)))]
        case .running:
            backup.phase = .stopping
            backup.leaseDeadline = nil
            self.backup = backup
            stopWaiters = [request]
            return [.callStop(backupID: id, waitForArchive: waitForArchive)]
        case .stopping:
            stopWaiters.append(request)
            return []
        case .stopped:
            return [.reply(request, .success(backup))]
        case .aborted, .leaseExpired, .failed:
            return [.reply(request, .failure(Self.notRunning(backup)))]
        }
    }

    private mutating func abortRequested(_ request: RequestID, _ id: String) -> [Action] {
        guard let backup, backup.backupID == id else { return [.reply(request, .failure(Self.notFound(id)))] }
        // Aborting a finished backup is answered with its state, so a retried abort is harmless.
        guard !backup.phase.isFinished else { return [.reply(request, .success(backup))] }
        var actions = end(as: .aborted)
        actions.append(.reply(request, .success(self.backup!)))
        return actions
    }

    // MARK: Outcomes of calls and time

    private mutating func startSucceeded(_ id: String, _ info: BackupStartInfo) -> [Action] {
        // A start that returns after an abort or an expiry is stale: its session is already being ended.
        guard var backup, backup.backupID == id, backup.phase == .starting else { return [] }
        backup.phase = .running
        backup.start = info
        self.backup = backup
        return replyAll(&startWaiters, .success(backup))
    }

    private mutating func stopSucceeded(_ id: String, _ info: BackupStopInfo) -> [Action] {
        guard var backup, backup.backupID == id, backup.phase == .stopping else { return [] }
        backup.phase = .stopped
        backup.stop = info
        self.backup = backup
        return [.closeSession(backupID: id)] + replyAll(&stopWaiters, .success(backup))
    }

    private mutating func callFailed(_ id: String, during phase: BackupPhase, _ error: SnapfleetError) -> [Action] {
        guard var backup, backup.backupID == id, backup.phase == phase else { return [] }
        backup.phase = .failed
        backup.failure = error
        backup.leaseDeadline = nil
        self.backup = backup
        // A failed start left nothing on the server; a failed stop may have, so it is ended explicitly.
        let session: Action = phase == .starting ? .closeSession(backupID: id) : .endSession(backupID: id)
        return [session] + replyAll(&startWaiters, .failure(error)) + replyAll(&stopWaiters, .failure(error))
    }

    private mutating func tick(_ now: ContinuousClock.Instant) -> [Action] {
        guard let backup, let deadline = backup.leaseDeadline, !backup.phase.isFinished, now >= deadline else {
            return []
        }
        return end(as: .leaseExpired) + [.reportLeaseExpired(backupID: backup.backupID)]
    }

    private mutating func sessionLost(_ id: String, _ error: SnapfleetError) -> [Action] {
        guard var backup, backup.backupID == id, !backup.phase.isFinished else { return [] }
        backup.phase = .failed
        backup.failure = error
        backup.leaseDeadline = nil
        self.backup = backup
        return [.closeSession(backupID: id)] + replyAll(&startWaiters, .failure(error))
            + replyAll(&stopWaiters, .failure(error))
    }

    // MARK: Helpers

    /// Ends the current backup on the server (abort or expiry) and fails whoever waits for a call.
    private mutating func end(as phase: BackupPhase) -> [Action] {
        guard var backup else { return [] }
        let interrupted = backup.phase
        backup.phase = phase
        backup.leaseDeadline = nil
        self.backup = backup
        let id = backup.backupID
        let error = Self.notRunning(backup)
        var actions: [Action] = []
        // A pg_backup_start waiting for its checkpoint (or a stop waiting for archiving) must be
        // interrupted first, or ending the session would wait for it.
        if interrupted != .running { actions.append(.cancelCall(backupID: id)) }
        actions.append(.endSession(backupID: id))
        return actions + replyAll(&startWaiters, .failure(error)) + replyAll(&stopWaiters, .failure(error))
    }

    /// The backup with this id if it is starting, running or stopping.
    private func activeBackup(_ id: String) -> BackupState? {
        guard let backup, backup.backupID == id, !backup.phase.isFinished else { return nil }
        return backup
    }

    /// Why a request for `id` cannot be served: unknown, or finished.
    private func refusal(_ id: String) -> SnapfleetError {
        guard let backup, backup.backupID == id else { return Self.notFound(id) }
        return Self.notRunning(backup)
    }

    /// Replies to every waiting request and forgets them.
    private func replyAll(_ waiters: inout [RequestID], _ result: Result<BackupState, SnapfleetError>) -> [Action] {
        defer { waiters = [] }
        return waiters.map { .reply($0, result) }
    }

    private static func notFound(_ id: String) -> SnapfleetError {
        SnapfleetError(.backupNotFound, "no backup \(id) is known to this agent")
    }

    private static func notRunning(_ backup: BackupState) -> SnapfleetError {
        SnapfleetError(.backupNotRunning, "backup \(backup.backupID) is not running (\(backup.phase.rawValue))")
    }

    private static func stillStarting(_ id: String) -> SnapfleetError {
        SnapfleetError(
            .backupNotRunning, "backup \(id) is still starting", hint: "stop it once start has returned",
            retryable: true)
    }

    private static func inProgress(_ backup: BackupState) -> SnapfleetError {
        SnapfleetError(
            .backupInProgress, "backup \(backup.backupID) is \(backup.phase.rawValue) on this server",
            hint: "wait for it to finish or abort it", retryable: true)
    }
}
