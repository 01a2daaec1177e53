import CloudSnapshots
import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// One backup of one server, as a state machine: events in, actions out, no I/O.
///
/// A runner performs each action and feeds its result back as an event, with the time it
/// happened. Every handler checks the phase and what is outstanding, so a duplicate or late
/// event never repeats a side effect; a snapshot that turns up after a failure is deleted.
public struct BackupRun: Sendable {
    /// The plan this run carries out.
    public let plan: BackupPlan
    /// Where the run stands.
    public internal(set) var phase: BackupRunPhase = .preflight

    /// The agent's backup session as the controller knows it.
    enum Session: Equatable {
        /// `backup_start` not sent.
        case none
        /// `backup_start` sent, no answer yet.
        case requested
        /// Started: the lease is counting down.
        case running
        /// `backup_stop` sent.
        case stopRequested
        /// Stopped, failed to start, expired or aborted: nothing to end.
        case ended
    }

    var session = Session.none
    var beganAt: Date?
    /// When the phase (or, while starting, the agent's session) last changed: progress counts from it.
    var phaseEnteredAt: Date?
    var leaseRenewedAt: Date?
    var startPoint: BackupStartPoint?
    var startReturnedAt: Date?
    var stopRequestedAt: Date?
    var stopped: BackupStopped?
    /// The one snapshot per disk, in the order they were created.
    var taken: [TakenSnapshot] = []
    /// Extra snapshots of a disk that already has one (a runner that created twice); always deleted.
    var strays: [TakenSnapshot] = []
    var pendingCreates: Set<String> = []
    var describing: Set<String> = []
    var lastPollAt: Date?
    var snapshotDeadline: Date?
    var lastDescribeError: String?
    var pendingDeletes: Set<String> = []
    var pendingLocks: Set<String> = []
    var abortPending = false
    var recordPending = false
    /// The end-of-run check that the provider holds no snapshot of this backup the run does not know.
    var reconciliation = Reconciliation.notStarted
    var failure: BackupFailure?
    var problems: [String] = []
    /// The result handed out with `finish`, once the run is over.
    public internal(set) var result: BackupRunResult?

    /// A run in `preflight`, waiting for `begin`.
    public init(plan: BackupPlan) { self.plan = plan }

    /// Starts the run: writes backup.info STARTED (the agent is asked to start once it is written).
    public mutating func begin(at now: Date) -> [BackupAction] {
        guard phase == .preflight else { return [] }
        phase = .starting
        beganAt = now
        phaseEnteredAt = now
        recordPending = true
        return [.writeRecord(record(.started))]
    }

    /// Feeds one event that happened at `now`; returns what to do next.
    public mutating func handle(_ event: BackupEvent, at now: Date) -> [BackupAction] {
        let before = (phase, session)
        defer { if (phase, session) != before { phaseEnteredAt = now } }
        return dispatch(event, at: now)
    }

    private mutating func dispatch(_ event: BackupEvent, at now: Date) -> [BackupAction] {
        switch event {
        case .startReturned(let result): startReturned(result, at: now)
        case .snapshotCreated(let diskID, let result): snapshotCreated(diskID: diskID, result, at: now)
        case .stopReturned(let result): stopReturned(result, at: now)
        case .labelStored(let result): labelStored(result, at: now)
        case .snapshotDescribed(let id, let result): snapshotDescribed(id: id, result, at: now)
        case .recordWritten(let kind, let result): recordWritten(kind, result, at: now)
        case .snapshotDeleted(let id, let result): snapshotDeleted(id: id, result)
        case .snapshotLocked(let id, let result): snapshotLocked(id: id, result, at: now)
        case .agentAborted(let result): agentAborted(result)
        case .backupSnapshotsListed(let result): backupSnapshotsListed(result)
        case .leaseExpired: leaseExpired(at: now)
        case .tick: tick(at: now)
        }
    }

    /// Whether the run is still on its way to DONE (no failure yet).
    var isHealthy: Bool { failure == nil && phase != .preflight && phase != .done }

    // MARK: - Start

    private mutating func startReturned(_ result: Result<BackupStartPoint, SnapfleetError>, at now: Date) -> [BackupAction] {
        guard phase == .starting, session == .requested else { return [] }
        switch result {
        case .failure(let error):
            session = .ended
            return fail(.start, error.description, at: now)
        case .success(let point):
            startPoint = point
            startReturnedAt = now
            session = .running
            return requestSnapshots(at: now)
        }
    }

    /// Asks for every snapshot at once: the backup window is as short as the slowest `CreateSnapshot`.
    private mutating func requestSnapshots(at now: Date) -> [BackupAction] {
        phase = .snapshotting
        pendingCreates = Set(plan.disks.map(\.id))
        let creates = plan.disks.map { BackupAction.createSnapshot($0, plan.snapshotRequest(for: $0)) }
        return creates + (pendingCreates.isEmpty ? requestStop(at: now) : [])
    }

    // MARK: - Stop and store

    mutating func requestStop(at now: Date) -> [BackupAction] {
        phase = .stopping
        session = .stopRequested
        stopRequestedAt = now
        return [.stopAgentBackup(BackupStop(backupID: plan.backupID, waitForArchive: true))]
    }

    private mutating func stopReturned(_ result: Result<BackupStopped, SnapfleetError>, at now: Date) -> [BackupAction] {
        guard phase == .stopping, session == .stopRequested else { return [] }
        switch result {
        case .failure(let error):
            return fail(.stop, error.description, at: now)
        case .success(let value):
            stopped = value
            session = .ended
            phase = .storing
            return [.storeLabel(value.backupLabel)]
        }
    }

    private mutating func labelStored(_ result: Result<Void, SnapfleetError>, at now: Date) -> [BackupAction] {
        guard phase == .storing else { return [] }
        if case .failure(let error) = result { return fail(.label, error.description, at: now) }
        phase = .awaitingSnapshots
        snapshotDeadline = now + plan.snapshotTimeout
        return pollSnapshots(at: now)
    }

    // MARK: - Records

    private mutating func recordWritten(
        _ kind: BackupRecordKind, _ result: Result<Void, SnapfleetError>, at now: Date
    ) -> [BackupAction] {
        guard recordPending, kind == pendingRecordKind else { return [] }
        recordPending = false
        switch (kind, result) {
        case (.started, .success):
            session = .requested
            leaseRenewedAt = now
            return [.startAgentBackup(startRequest)]
        case (.done, .success):
            return conclude(.done)
        case (.failed, .failure(let error)):
            problems.append("backup.info FAILED could not be written: \(error.description)")
            return conclude(.failed)
        case (.failed, .success):
            return conclude(.failed)
        case (_, .failure(let error)):
            return fail(.record, "backup.info \(kind.rawValue) could not be written: \(error.description)", at: now)
        }
    }

    /// The record a `recordWritten` may answer, from the phase that asked for it.
    private var pendingRecordKind: BackupRecordKind? {
        switch phase {
        case .starting: .started
        case .finishing: .done
        case .cleaningUp: .failed
        default: nil
        }
    }

    private var startRequest: BackupStart {
        BackupStart(
            backupID: plan.backupID, label: plan.label, fastCheckpoint: plan.immediateCheckpoint, leaseSeconds: plan.leaseSeconds)
    }

    /// The backup.info data of `kind` as the run stands now.
    func record(_ kind: BackupRecordKind) -> BackupRecord {
        let snapshots = kind == .failed ? ordered(taken + strays) : kind == .done ? ordered(taken) : []
        let copyTime = kind == .done ? lastEventAt.map { $0.timeIntervalSince(beganAt ?? $0) } : nil
        return BackupRecord(
            kind: kind, backupID: plan.backupID, server: plan.server, label: plan.label, start: startPoint, stop: stopped,
            snapshots: snapshots, failure: kind == .failed ? failure : nil, copyTime: copyTime,
            foreignSnapshots: kind == .done ? strays.map(\.snapshot.id) : [])
    }

    /// Snapshots in the configured order of their disks (barman records them in that order).
    func ordered(_ snapshots: [TakenSnapshot]) -> [TakenSnapshot] {
        let rank = Dictionary(plan.disks.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        return snapshots.enumerated().sorted { lhs, rhs in
            (rank[lhs.element.disk.id] ?? .max, lhs.offset) < (rank[rhs.element.disk.id] ?? .max, rhs.offset)
        }.map(\.element)
    }

    /// When the event that completed the snapshots happened (the end of barman's `copy_time`).
    var lastEventAt: Date?
    /// When the last snapshot was seen completed.
    var snapshotsCompletedAt: Date?

    /// Ends the run in a terminal phase and hands out the result.
    private mutating func conclude(_ status: BackupRecordKind) -> [BackupAction] {
        phase = status == .done ? .done : .failed
        let window = stopRequestedAt.flatMap { stop in startReturnedAt.map { stop.timeIntervalSince($0) } }
        let snapshots = status == .done ? ordered(taken) : ordered(taken + strays)
        let result = BackupRunResult(
            backupID: plan.backupID, status: status, failure: failure, backupWindow: window, snapshots: snapshots,
            problems: problems, snapshotWait: snapshotsCompletedAt.flatMap { done in stopRequestedAt.map { done.timeIntervalSince($0) } })
        self.result = result
        return [.finish(result)]
    }

    /// Writes backup.info DONE once every snapshot completed (and the provider was reconciled).
    mutating func finishing(at now: Date) -> [BackupAction] {
        phase = .finishing
        lastEventAt = now
        return reconcileThenRecord()
    }
}
