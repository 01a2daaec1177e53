import Foundation
import SnapfleetProtocol

/// Where a running backup stands, for logs and the operator: a phase, how long it has lasted, a detail.
public struct BackupRunProgress: Sendable, Equatable {
    /// `checkpoint`, `snapshotting`, `stopping`, `storing`, `awaiting_snapshots`, `locking`, `finishing` or `cleaning_up`.
    public var phase: String
    /// Whole seconds spent in this phase so far.
    public var seconds: Int
    /// What the phase is waiting for (snapshots and their progress, the checkpoint).
    public var detail: String
}

extension BackupRun {
    /// The run's progress at `now`, or nil before it started and after it ended.
    public func progress(at now: Date) -> BackupRunProgress? {
        guard let since = phaseEnteredAt, let (name, detail) = progressPhase else { return nil }
        return BackupRunProgress(phase: name, seconds: max(0, Int(now.timeIntervalSince(since))), detail: detail)
    }

    /// The progress phase's name and detail; nil when the run has not started or is over.
    private var progressPhase: (String, String)? {
        switch phase {
        case .preflight, .done, .failed: nil
        case .starting where session == .requested:
            // pg_backup_start is running: without an immediate checkpoint it waits for a spread one.
            ("checkpoint", plan.immediateCheckpoint ? "PostgreSQL is checkpointing (immediate)" : "PostgreSQL is running a spread checkpoint")
        case .starting: ("starting", "writing backup.info STARTED")
        case .snapshotting: ("snapshotting", "creating snapshots: \(pendingCreates.count) of \(plan.disks.count) not returned yet")
        case .stopping: ("stopping", "pg_backup_stop")
        case .storing: ("storing", "uploading backup_label")
        case .awaitingSnapshots: ("awaiting_snapshots", snapshotProgressDetail)
        case .locking: ("locking", "locking \(pendingLocks.count) snapshot(s)")
        case .finishing: ("finishing", reconciliation == .done ? "writing backup.info DONE" : "reconciling the provider's snapshots")
        case .cleaningUp: ("cleaning_up", "ending the backup session and deleting snapshots")
        }
    }

    /// `snap-1 45%, snap-2 completed`.
    private var snapshotProgressDetail: String {
        ordered(taken).map { taken in
            let state =
                taken.snapshot.state == .pending ? taken.snapshot.progressPercent.map { "\($0)%" } ?? "pending" : taken.snapshot.state.rawValue
            return "\(taken.snapshot.id) \(state)"
        }.joined(separator: ", ")
    }
}
