import Catalog
import CloudSnapshots
import Foundation
import Logging
import Scheduling
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// Takes a backup of one server: pre-flight, a fresh backup id, then a `BackupRunner`.
struct BackupCoordinator: Sendable {
    let server: String
    let config: ServerConfig
    /// The agent's backup lease (`backup_lease_seconds`).
    let leaseSeconds: Int
    /// The catalog cache (`ControllerConfig.resolvedCacheDirectory()`), for the retention run after a backup.
    var cacheRoot: String? = nil
    let preflight: PreflightRunner
    let askAgent: @Sendable (Message) async throws(SnapfleetError) -> Message
    /// The same with a timeout of the caller's (a `backup_stop` asked again if unanswered).
    var askAgentWithin: (@Sendable (Message, Duration) async throws(SnapfleetError) -> Message)? = nil
    let logger: Logger
    /// Where the running backup is announced, so a lease-expiry notice can reach it.
    let active: ActiveBackups
    /// The fleet's backup slots (`max_concurrent_backups`): a backup waits here, first come first
    /// served, after claiming its server and before touching PostgreSQL or the cloud.
    let slots: FairSlots
    /// Where `status` learns how the backup went.
    let history: FleetHistory
    /// Hears the running backup's progress (the operator waiting for it); it is logged too.
    var onProgress: @Sendable (BackupProgress) -> Void = { _ in }
    /// Raised when the controller is shutting down: a backup still queued then does not start.
    var draining = Flag()
    /// Where `/metrics` learns how backups ended.
    var metrics: FleetMetrics?

    /// Runs the backup to its end; refuses with `preflight_failed` before creating anything.
    func run(_ request: BackupRunRequest) async throws(SnapfleetError) -> BackupRunOutcome {
        guard active.claim(server) else {
            throw SnapfleetError(.backupInProgress, "a backup of '\(server)' is already running", retryable: true)
        }
        defer { active.release(server) }
        active.setQueued(server, true)
        await slots.acquire()
        defer { slots.release() }
        active.setQueued(server, false)
        guard !draining.isRaised else {
            throw SnapfleetError(.refused, "the controller is shutting down: the backup of '\(server)' was not started", retryable: true)
        }
        do {
            return try await runHoldingSlot(request)
        } catch {
            history.attemptFailed(server, error, at: Date())
            throw error
        }
    }

    /// Everything after the slot is held: pre-flight, the run, the record, retention.
    private func runHoldingSlot(_ request: BackupRunRequest) async throws(SnapfleetError) -> BackupRunOutcome {
        let findings = await preflight.gather(config: config)
        let failed = Preflight.evaluate(findings).filter { !$0.passed }
        guard failed.isEmpty else {
            throw SnapfleetError(
                .preflightFailed, "pre-flight checks failed: " + failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "),
                hint: "run 'snapfleet-controller check \(server)'", retryable: true)
        }
        guard case .success(let instance)? = findings.instance, case .success(let disks)? = findings.disks,
            case .success(let map)? = findings.diskMap, let facts = findings.hello?.postgres.facts
        else { throw SnapfleetError(.internalError, "pre-flight passed without findings") }
        let (catalog, provider, id) = try await prepare()
        let context = BackupContext(
            provider: provider.name, instance: instance, disks: disks, placements: map.disks, facts: facts, backupName: request.name)
        let plan = BackupPlan(
            backupID: id.rawValue, server: server, disks: disks, tags: config.tags, leaseSeconds: leaseSeconds,
            snapshotTimeout: TimeInterval(config.awaitSnapshotsTimeout), pollInterval: provider.name == "local" ? 1 : 15,
            immediateCheckpoint: request.immediateCheckpoint, lock: config.aws?.snapshotLock?.policy)
        let runner = BackupRunner(plan: plan, effects: effects(catalog: catalog, provider: provider, context: context, id: id))
        let started = Date()
        try await markStarted(BackupReport(startedBackup: id.rawValue, server: server, started: started, hello: findings.hello), catalog, id)
        logger.info("backup started", metadata: ["server": "\(server)", "backup.id": "\(id)"])
        active.register(server, runner)
        active.report(BackupProgress(server: server, backupID: id.rawValue, phase: "starting", seconds: 0, detail: nil))
        let result = await runner.run()
        logOutcome(result)
        let report = BackupReport(result: result, server: server, started: started, finished: Date(), hello: findings.hello)
        await storeReport(report, catalog: catalog, id: id)
        let outcome = BackupRunOutcome(
            server: server, backupID: id.rawValue, status: result.status.rawValue,
            backupWindowMs: result.backupWindow.map { Int($0 * 1000) }, error: result.failure.map { "\($0.step.rawValue): \($0.cause)" })
        let finished = report.finishedAt.flatMap(Timestamp.parse) ?? Date()
        history.finished(outcome, started: started, finished: finished)
        metrics?.backupEnded(
            server: server, status: outcome.status, window: result.backupWindow, duration: Date().timeIntervalSince(started),
            snapshotWait: result.snapshotWait)
        if result.status == .done, config.retentionPolicy != nil { await applyRetention(catalog) }
        return outcome
    }

    /// Opens the catalog and the provider and picks the id (never one the catalog has, even in the same second).
    private func prepare() async throws(SnapfleetError) -> (CatalogStore, any CloudSnapshots.SnapshotProvider, BackupID) {
        let (server, config, cacheRoot) = (self.server, self.config, self.cacheRoot)
        let prepared = await BlockingPool.shared.run { () -> Result<(CatalogStore, any CloudSnapshots.SnapshotProvider, BackupID), SnapfleetError> in
            Result { () throws(SnapfleetError) in
                let catalog = try CatalogStore.open(server: server, config: config, cacheRoot: cacheRoot)
                let provider = try ProviderFactory.provider(for: config)
                let id = try catalog.freshBackupID(now: Date())
                return (catalog, provider, id)
            }
        }
        return try prepared.get()
    }

    private func effects(catalog: CatalogStore, provider: any CloudSnapshots.SnapshotProvider, context: BackupContext, id: BackupID) -> BackupEffects
    {
        BackupEffects(
            askAgent: askAgent, provider: provider,
            writeRecord: { record throws(SnapfleetError) in
                try catalog.write(try BackupInfoBuilder.backupInfo(record, context: context), id: id)
            },
            storeLabel: { text throws(SnapfleetError) in try catalog.writeLabel(text, id: id) },
            progress: { [server, logger, onProgress, active] progress in
                logger.info(
                    "backup progress",
                    metadata: [
                        "server": "\(server)", "backup.id": "\(id)", "phase": "\(progress.phase)", "seconds": "\(progress.seconds)",
                        "detail": "\(progress.detail)",
                    ])
                let report = BackupProgress(
                    server: server, backupID: id.rawValue, phase: progress.phase, seconds: progress.seconds, detail: progress.detail)
                active.report(report)
                onProgress(report)
            }, askAgentWithin: askAgentWithin)
    }

    /// Writes the STARTED report before anything else exists: it tells a restarted controller the
    /// backup is its own to clean up. Failing here creates nothing, so the backup is refused.
    private func markStarted(_ report: BackupReport, _ catalog: CatalogStore, _ id: BackupID) async throws(SnapfleetError) {
        try await BlockingPool.shared.run { Result { () throws(SnapfleetError) in try catalog.writeReport(report.json, id: id) } }.get()
    }

    /// The report is an extra: failing to store it is logged, never turned into a failed backup.
    private func storeReport(_ report: BackupReport, catalog: CatalogStore, id: BackupID) async {
        let stored = await BlockingPool.shared.run { Result { () throws(SnapfleetError) in try catalog.writeReport(report.json, id: id) } }
        if case .failure(let error) = stored {
            logger.warning("backup report not stored", metadata: ["backup.id": "\(id)", "error": "\(error)"])
        }
    }

    /// The server's retention policy, after a DONE backup; a failure is logged, never turned into a failed backup.
    private func applyRetention(_ catalog: CatalogStore) async {
        let operations = CatalogOperations(server: server, settings: config, catalog: catalog)
        let (server, logger) = (self.server, self.logger)
        let applied = await BlockingPool.shared.run {
            Result { () throws(SnapfleetError) in
                try operations.applyRetention(dryRun: false) { line in
                    logger.info("retention", metadata: ["server": "\(server)", "step": "\(line)"])
                }
            }
        }
        let now = Timestamp.rfc3339(Date())
        switch applied {
        case .success: history.update(server) { $0.retention = "applied at \(now)" }
        case .failure(let error):
            logger.error("retention not applied", metadata: ["server": "\(server)", "error": "\(error)"])
            history.update(server) { $0.retention = "failed at \(now): \(error.message)" }
        }
    }

    private func logOutcome(_ result: BackupRunResult) {
        var metadata: Logger.Metadata = ["server": "\(server)", "backup.id": "\(result.backupID)", "status": "\(result.status.rawValue)"]
        if let window = result.backupWindow { metadata["backup.window_ms"] = "\(Int(window * 1000))" }
        if let failure = result.failure { metadata["error"] = "\(failure.step.rawValue): \(failure.cause)" }
        for problem in result.problems {
            logger.error("backup cleanup problem", metadata: ["backup.id": "\(result.backupID)", "problem": "\(problem)"])
        }
        logger.log(level: result.status == .done ? .info : .error, "backup finished", metadata: metadata)
    }
}

/// The backups running now, by server (one at a time per server), and where each stands.
final class ActiveBackups: Sendable {
    private struct State {
        var busy: Set<String> = []
        var queued: Set<String> = []
        var runners: [String: BackupRunner] = [:]
        var progress: [String: BackupProgress] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty table.
    init() {}

    /// Claims the server for a backup; false if one is already running or queued there.
    func claim(_ server: String) -> Bool {
        state.withLock { $0.busy.insert(server).inserted }
    }

    /// The servers with a backup running or queued (or a recovery running), sorted.
    var busyServers: [String] { state.withLock { $0.busy.sorted() } }

    /// Whether a backup of the server is running or queued.
    func isBusy(_ server: String) -> Bool { state.withLock { $0.busy.contains(server) } }

    /// Marks the claimed server's backup as waiting for a fleet slot, or no longer waiting.
    func setQueued(_ server: String, _ queued: Bool) {
        state.withLock { state in
            if queued { state.queued.insert(server) } else { state.queued.remove(server) }
        }
    }

    /// Whether the server's backup waits for a slot.
    func isQueued(_ server: String) -> Bool { state.withLock { $0.queued.contains(server) } }

    /// Announces the runner of the claimed server's backup.
    func register(_ server: String, _ runner: BackupRunner) { state.withLock { $0.runners[server] = runner } }

    /// Keeps the running backup's latest progress, for `status`.
    func report(_ progress: BackupProgress) { state.withLock { $0.progress[progress.server] = progress } }

    /// The running backup's latest progress.
    func progress(of server: String) -> BackupProgress? { state.withLock { $0.progress[server] } }

    /// Frees the server once its backup has ended.
    func release(_ server: String) {
        state.withLock { state in
            state.busy.remove(server)
            state.queued.remove(server)
            state.runners[server] = nil
            state.progress[server] = nil
        }
    }

    /// The running backup of a server.
    func runner(of server: String) -> BackupRunner? { state.withLock { $0.runners[server] } }
}
