import Dispatch
import SnapfleetCore
import Synchronization

/// Runs `BackupSessionMachine` against PostgreSQL: one dedicated session per backup, a lease timer,
/// and libpq calls on its own serial queue (never on the caller's thread or Swift's cooperative
/// pool, since `pg_backup_start` can block for a whole checkpoint).
public final class BackupSessionDriver: Sendable {
    typealias Machine = BackupSessionMachine

    /// The machine and the callers waiting for replies, under one lock.
    struct Core {
        var machine = Machine()
        var nextRequest = 0
        var waiters: [Machine.RequestID: CheckedContinuation<BackupState, any Error>] = [:]
        var lastLivenessCheck: ContinuousClock.Instant?
    }

    let configuration: Configuration
    let core = Mutex(Core())
    let worker = DispatchQueue(label: "snapfleet.backup-session")
    let slot: BackupSessionSlot
    let calls = BackupCallGuard()
    private let onLeaseExpired: @Sendable (String) -> Void
    private let timer: RepeatingTimer

    /// Creates a driver; `onLeaseExpired` is called with the backup id (off the driver's queue)
    /// after a backup whose lease ran out has been ended.
    public init(configuration: Configuration, onLeaseExpired: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.onLeaseExpired = onLeaseExpired
        slot = BackupSessionSlot(queue: worker)
        timer = RepeatingTimer(label: "snapfleet.backup-lease", interval: configuration.tickInterval)
        timer.start { [weak self] in self?.tick() }
    }

    /// Starts a backup, or answers with its state if this id was started already.
    ///
    /// Throws `.backupInProgress` (retryable) while another backup is active. A repeated start
    /// while the first is still in `pg_backup_start` returns phase `starting` at once.
    public func start(backupID: String, label: String, fastCheckpoint: Bool, lease: Duration) async throws
        -> BackupState
    {
        let now = ContinuousClock.now
        return try await request { id in
            .startRequested(
                id,
                .init(backupID: backupID, label: label, fastCheckpoint: fastCheckpoint, lease: lease, now: now))
        }
    }

    /// Extends the lease to now + `lease`.
    public func renew(backupID: String, lease: Duration) async throws -> BackupState {
        let now = ContinuousClock.now
        return try await request { .renewRequested($0, backupID: backupID, lease: lease, now: now) }
    }

    /// Stops the backup and returns its `backup_label`; a repeated stop returns the same result.
    public func stop(backupID: String, waitForArchive: Bool) async throws -> BackupState {
        try await request { .stopRequested($0, backupID: backupID, waitForArchive: waitForArchive) }
    }

    /// Ends the backup without a result; returns once its session is closed.
    public func abort(backupID: String) async throws -> BackupState {
        try await request { .abortRequested($0, backupID: backupID) }
    }

    /// The backup's current state, or `.backupNotFound`.
    public func state(backupID: String) async throws -> BackupState {
        try core.withLock { $0.machine.state(of: backupID) }.get()
    }

    /// Aborts the active backup, if any, and waits until its session is closed.
    public func shutdown() async {
        let active = core.withLock { core -> String? in
            guard let backup = core.machine.backup, !backup.phase.isFinished else { return nil }
            return backup.backupID
        }
        if let active { _ = try? await abort(backupID: active) }
    }

    // MARK: Feeding the machine

    /// Registers the caller, feeds its event and waits for the machine's reply.
    private func request(_ event: (Machine.RequestID) -> Machine.Event) async throws -> BackupState {
        try await withCheckedThrowingContinuation { continuation in
            core.withLock { core in
                core.nextRequest += 1
                let id = Machine.RequestID(core.nextRequest)
                core.waiters[id] = continuation
                perform(core.machine.handle(event(id)), in: &core)
            }
        }
    }

    /// Feeds an event that is not a request (a call's outcome, a tick, a lost session).
    func handle(_ event: Machine.Event) {
        core.withLock { core in perform(core.machine.handle(event), in: &core) }
    }

    /// Carries out actions in order. Runs under the lock, so work is queued in the machine's order.
    ///
    /// Session work goes to the serial queue; a reply or report that follows such work in the same
    /// batch is queued behind it, so that e.g. an abort is answered only once the session is closed.
    private func perform(_ actions: [Machine.Action], in core: inout Core) {
        var behindWorker = false
        for action in actions {
            switch action {
            case .callStart(let id, let label, let fast):
                worker.async { self.runStart(id, label: label, fastCheckpoint: fast) }
                behindWorker = true
            case .callStop(let id, let wait):
                worker.async { self.runStop(id, waitForArchive: wait) }
                behindWorker = true
            case .cancelCall(let id):
                calls.cancel(id)
            case .endSession(let id):
                worker.async { self.closeSession(id, endingBackup: true) }
                behindWorker = true
            case .closeSession(let id):
                worker.async { self.closeSession(id, endingBackup: false) }
                behindWorker = true
            case .reply(let request, let result):
                guard let waiter = core.waiters.removeValue(forKey: request) else { continue }
                if behindWorker { worker.async { waiter.resume(with: result) } } else { waiter.resume(with: result) }
            case .reportLeaseExpired(let id):
                let report = onLeaseExpired
                // Hop off the driver's queue so a slow callback cannot hold up libpq work.
                worker.async { DispatchQueue.global().async { report(id) } }
            }
        }
    }

    // MARK: Time

    /// Checks the lease, repeats a pending cancel, and now and then checks that the session lives.
    private func tick() {
        let now = ContinuousClock.now
        core.withLock { core in
            perform(core.machine.handle(.tick(now: now)), in: &core)
            scheduleLivenessCheck(&core, now: now)
        }
        calls.repeatCancel()
    }

    private func scheduleLivenessCheck(_ core: inout Core, now: ContinuousClock.Instant) {
        guard let backup = core.machine.backup, backup.phase == .running else { return }
        if let last = core.lastLivenessCheck, now - last < configuration.livenessInterval { return }
        core.lastLivenessCheck = now
        worker.async { self.checkLiveness(backup.backupID) }
    }
}
