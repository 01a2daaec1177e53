import CloudSnapshots
import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// What a backup run does to the world: the agent, the provider, the catalog.
public struct BackupEffects: Sendable {
    /// Sends a request to the server's agent and returns its reply (an error reply is thrown).
    public var askAgent: @Sendable (Message) async throws(SnapfleetError) -> Message
    /// The same, waiting at most the given time for the reply (`timeout` after it).
    public var askAgentWithin: @Sendable (Message, Duration) async throws(SnapfleetError) -> Message
    /// The server's snapshot provider.
    public var provider: any SnapshotProvider
    /// Writes `backup.info` for a record.
    public var writeRecord: @Sendable (BackupRecord) throws(SnapfleetError) -> Void
    /// Stores `backup_label`.
    public var storeLabel: @Sendable (String) throws(SnapfleetError) -> Void
    /// Hears where the run stands, every `BackupRunner.progressInterval` while it runs.
    public var progress: @Sendable (BackupRunProgress) -> Void

    /// Creates the effects.
    public init(
        askAgent: @escaping @Sendable (Message) async throws(SnapfleetError) -> Message, provider: any SnapshotProvider,
        writeRecord: @escaping @Sendable (BackupRecord) throws(SnapfleetError) -> Void,
        storeLabel: @escaping @Sendable (String) throws(SnapfleetError) -> Void,
        progress: @escaping @Sendable (BackupRunProgress) -> Void = { _ in },
        askAgentWithin: (@Sendable (Message, Duration) async throws(SnapfleetError) -> Message)? = nil
    ) {
        self.askAgent = askAgent
        if let askAgentWithin {
            self.askAgentWithin = askAgentWithin
        } else {
            // Without a timed form, the plain one (its own timeout). A separate function, not a
            // closure literal here: Swift 6.3's SILGen crashes on a typed-throws async closure in `??`.
            self.askAgentWithin = Self.untimed(askAgent)
        }
        self.provider = provider
        self.writeRecord = writeRecord
        self.storeLabel = storeLabel
        self.progress = progress
    }
}

extension BackupEffects {
    /// `askAgent` taking (and ignoring) a timeout.
    static func untimed(
        _ askAgent: @escaping @Sendable (Message) async throws(SnapfleetError) -> Message
    ) -> @Sendable (Message, Duration) async throws(SnapfleetError) -> Message {
        { message, _ throws(SnapfleetError) in try await askAgent(message) }
    }
}

/// Runs a `BackupRun`: performs its actions, feeds their results back as events, ticks once
/// a second, and returns the run's result. All decisions stay in the state machine.
public final class BackupRunner: Sendable {
    private let plan: BackupPlan
    private let effects: BackupEffects
    private let events: AsyncStream<BackupEvent>
    private let continuation: AsyncStream<BackupEvent>.Continuation

    /// A runner for `plan`.
    public init(plan: BackupPlan, effects: BackupEffects) {
        self.plan = plan
        self.effects = effects
        (events, continuation) = AsyncStream<BackupEvent>.makeStream()
    }

    /// Tells the run the agent ended the backup because its lease ran out.
    public func leaseExpired() { continuation.yield(.leaseExpired) }

    /// How often a running backup reports its progress.
    public static let progressInterval: TimeInterval = 5

    /// Runs the backup to its end (DONE or FAILED, cleaned up).
    public func run() async -> BackupRunResult {
        var run = BackupRun(plan: plan)
        let ticker = Task { [continuation] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                continuation.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let began = Date()
        var lastReport = began
        if let result = perform(run.begin(at: began)) { return result }
        for await event in events {
            let now = Date()
            if let result = perform(run.handle(event, at: now)) { return result }
            if now.timeIntervalSince(lastReport) >= Self.progressInterval, let progress = run.progress(at: now) {
                lastReport = now
                effects.progress(progress)
            }
        }
        // The stream never finishes on its own; this is only reached if the task is cancelled.
        return BackupRunResult(backupID: plan.backupID, status: .failed, failure: nil, backupWindow: nil, snapshots: [], problems: ["cancelled"])
    }

    /// Starts every action; returns the result when one of them is `finish`.
    private func perform(_ actions: [BackupAction]) -> BackupRunResult? {
        for action in actions {
            if case .finish(let result) = action { return result }
            Task { [self] in
                if let event = await execute(action) { continuation.yield(event) }
            }
        }
        return nil
    }

    /// Performs one action; blocking provider and store calls run on threads of their own.
    private func execute(_ action: BackupAction) async -> BackupEvent? {
        switch action {
        case .writeRecord(let record):
            return .recordWritten(record.kind, await blocking { () throws(SnapfleetError) in try self.effects.writeRecord(record) })
        case .storeLabel(let text):
            return .labelStored(await blocking { () throws(SnapfleetError) in try self.effects.storeLabel(text) })
        case .createSnapshot(let disk, let request):
            let result = await blocking { () throws(SnapfleetError) in try self.effects.provider.createSnapshot(of: disk, request: request) }
            return .snapshotCreated(diskID: disk.id, result)
        case .describeSnapshot(let snapshot):
            let result = await blocking { () throws(SnapfleetError) in try self.effects.provider.describeSnapshot(snapshot) }
            return .snapshotDescribed(snapshotID: snapshot.id, result)
        case .deleteSnapshot(let snapshot):
            let result = await blocking { () throws(SnapfleetError) in try self.effects.provider.deleteSnapshot(snapshot) }
            return .snapshotDeleted(snapshotID: snapshot.id, result)
        case .listBackupSnapshots:
            let (backupID, disks) = (plan.backupID, plan.disks)
            return .backupSnapshotsListed(
                await blocking { () throws(SnapfleetError) in try self.effects.provider.snapshots(ofBackup: backupID, disks: disks) })
        case .lockSnapshot(let snapshot, let policy):
            let result = await blocking { () throws(SnapfleetError) in try self.effects.provider.lockSnapshot(snapshot, policy: policy) }
            return .snapshotLocked(snapshotID: snapshot.id, result)
        case .startAgentBackup(let request):
            return .startReturned(await startPoint(try await effects.askAgent(.backupStart(request))))
        case .stopAgentBackup(let request):
            return .stopReturned(await stopResult(try await askRepeatedly(.backupStop(request))))
        case .abortAgentBackup(let request):
            return .agentAborted(await ignoringReply(try await effects.askAgent(.backupAbort(request))))
        case .renewLease(let request):
            _ = await ignoringReply(try await effects.askAgent(.backupRenew(request)))
            return nil
        case .finish:
            return nil
        }
    }

    /// How often an unanswered `backup_stop` is asked again, for how long in all, and how long an
    /// agent that is not connected has to come back.
    static let stopResendInterval: Duration = .seconds(30)
    static let stopDeadline: Duration = .seconds(600)
    static let reconnectGrace: Duration = .seconds(10)

    private func askRepeatedly(_ message: Message) async throws(SnapfleetError) -> Message {
        try await Self.askRepeatedly(
            message, every: Self.stopResendInterval, for: Self.stopDeadline, reconnectGrace: Self.reconnectGrace, ask: effects.askAgentWithin)
    }

    /// Asks again while unanswered: every `interval` until `limit` has passed, and, when the agent
    /// is not connected, once a second for `reconnectGrace` (an agent that does not come back, or
    /// was killed, fails the step as before). Only for `backup_stop`, which the agent answers
    /// idempotently (a repeated stop waits for the same `pg_backup_stop`, or answers its result):
    /// a request or reply lost with a dropped connection costs one interval, not the whole wait
    /// (seen in the 1,000-agent round on a loaded machine).
    static func askRepeatedly(
        _ message: Message, every interval: Duration, for limit: Duration, reconnectGrace: Duration,
        ask: @Sendable (Message, Duration) async throws(SnapfleetError) -> Message
    ) async throws(SnapfleetError) -> Message {
        let deadline = ContinuousClock.now + limit
        var awaySince: ContinuousClock.Instant?
        while true {
            do { return try await ask(message, interval) } catch {
                let now = ContinuousClock.now
                guard now < deadline else { throw error }
                switch error.code {
                case .timeout:
                    awaySince = nil
                case .agentNotConnected:
                    let since = awaySince ?? now
                    guard now - since < reconnectGrace else { throw error }
                    awaySince = since
                    try? await Task.sleep(for: min(interval, .seconds(1)))
                default:
                    throw error
                }
            }
        }
    }

    private func startPoint(_ reply: @autoclosure () async throws(SnapfleetError) -> Message) async -> Result<BackupStartPoint, SnapfleetError> {
        do throws(SnapfleetError) {
            let message = try await reply()
            guard case .backupState(let state) = message, let start = state.start, state.phase == .running else {
                return .failure(SnapfleetError(.unexpectedMessage, "agent answered backup_start with \(message.type.rawValue) (not running)"))
            }
            return .success(start)
        } catch {
            return .failure(error)
        }
    }

    private func stopResult(_ reply: @autoclosure () async throws(SnapfleetError) -> Message) async -> Result<BackupStopped, SnapfleetError> {
        do throws(SnapfleetError) {
            let message = try await reply()
            guard case .backupStopped(let stopped) = message else {
                return .failure(SnapfleetError(.unexpectedMessage, "agent answered backup_stop with \(message.type.rawValue)"))
            }
            return .success(stopped)
        } catch {
            return .failure(error)
        }
    }

    private func ignoringReply(_ reply: @autoclosure () async throws(SnapfleetError) -> Message) async -> Result<Void, SnapfleetError> {
        do throws(SnapfleetError) {
            _ = try await reply()
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    private func blocking<T: Sendable>(_ work: @escaping @Sendable () throws(SnapfleetError) -> T) async -> Result<T, SnapfleetError> {
        await BlockingPool.shared.run { Result { () throws(SnapfleetError) in try work() } }
    }
}
