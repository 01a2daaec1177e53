import CloudSnapshots
import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// Everything one backup run needs, fixed before it starts (pre-flight has already resolved the disks).
public struct BackupPlan: Sendable, Equatable {
    /// The backup id, `YYYYMMDDTHHMMSS`.
    public var backupID: String
    /// The server being backed up.
    public var server: String
    /// The disks to snapshot, in configured order, as pre-flight found them.
    public var disks: [DiskInfo]
    /// The configured snapshot tags (`snapfleet_backup_id` is added to them).
    public var tags: [String: String]
    /// The agent's lease, renewed whenever a tick finds it more than half used.
    public var leaseSeconds: Int
    /// How long the snapshots may take to complete once the label is stored.
    public var snapshotTimeout: TimeInterval
    /// How often pending snapshots are described while waiting for them.
    public var pollInterval: TimeInterval
    /// Whether PostgreSQL checkpoints immediately at start.
    public var immediateCheckpoint: Bool
    /// The lock every snapshot gets once all have completed, if any.
    public var lock: SnapshotLockPolicy?

    /// Creates a plan.
    public init(
        backupID: String, server: String, disks: [DiskInfo], tags: [String: String] = [:], leaseSeconds: Int,
        snapshotTimeout: TimeInterval, pollInterval: TimeInterval = 15, immediateCheckpoint: Bool, lock: SnapshotLockPolicy? = nil
    ) {
        self.lock = lock
        self.backupID = backupID
        self.server = server
        self.disks = disks
        self.tags = tags
        self.leaseSeconds = leaseSeconds
        self.snapshotTimeout = snapshotTimeout
        self.pollInterval = pollInterval
        self.immediateCheckpoint = immediateCheckpoint
    }

    /// The label PostgreSQL writes into `backup_label`.
    public var label: String { "snapfleet backup \(server) \(backupID)" }

    /// `<disk as configured>-<backup id lower-cased>` (barman-cloud's naming), tagged with the backup id.
    public func snapshotRequest(for disk: DiskInfo) -> SnapshotRequest {
        let tags = self.tags.merging(["snapfleet_backup_id": backupID]) { _, id in id }
        return SnapshotRequest(name: disk.configuredName + "-" + backupID.lowercased(), tags: tags)
    }
}

/// The explicit phases of a backup run.
public enum BackupRunPhase: String, Sendable, Equatable {
    /// Not started yet.
    case preflight
    /// backup.info STARTED is being written, then the agent's `backup_start` is sent.
    case starting
    /// Every snapshot has been requested; waiting until each `CreateSnapshot` returned.
    case snapshotting
    /// The agent's `backup_stop` is running.
    case stopping
    /// `backup_label` is being uploaded.
    case storing
    /// Polling the snapshots until all have completed.
    case awaitingSnapshots
    /// Locking the completed snapshots (only with a lock policy).
    case locking
    /// backup.info DONE is being written.
    case finishing
    /// The backup is complete (terminal).
    case done
    /// Ending the agent's session, deleting snapshots, then writing backup.info FAILED.
    case cleaningUp
    /// The backup failed and everything about it is recorded (terminal).
    case failed
}

/// The step of a backup that failed, as named in the FAILED record.
public enum BackupStep: String, Sendable, Equatable {
    /// Writing backup.info (STARTED or DONE).
    case record
    /// The agent's `backup_start`.
    case start
    /// Creating a snapshot.
    case snapshot
    /// The agent's `backup_stop`.
    case stop
    /// Uploading `backup_label`.
    case label
    /// Waiting for the snapshots to complete (error state or timeout).
    case snapshotCompletion = "snapshot completion"
    /// The agent ended the backup because its lease ran out.
    case lease
    /// Locking a completed snapshot.
    case lock
    /// The controller stopped during the backup (recorded when it restarts).
    case controller
}

/// Why a backup failed: the step and the cause.
public struct BackupFailure: Sendable, Equatable {
    /// The step that failed.
    public var step: BackupStep
    /// What went wrong.
    public var cause: String

    /// Creates a failure.
    public init(step: BackupStep, cause: String) {
        self.step = step
        self.cause = cause
    }
}

/// A snapshot taken of one disk.
public struct TakenSnapshot: Sendable, Equatable {
    /// The disk it is of.
    public var disk: DiskInfo
    /// The snapshot, as last reported by the provider.
    public var snapshot: SnapshotInfo

    /// Pairs a disk with its snapshot.
    public init(disk: DiskInfo, snapshot: SnapshotInfo) {
        self.disk = disk
        self.snapshot = snapshot
    }
}

/// Which backup.info a record is.
public enum BackupRecordKind: String, Sendable, Equatable {
    /// Written before the agent is asked to start.
    case started = "STARTED"
    /// Written once every snapshot completed: the commit marker.
    case done = "DONE"
    /// Written after cleanup.
    case failed = "FAILED"
}

/// The data the runner turns into barman's `backup.info` (with the mounts and provider facts it holds).
public struct BackupRecord: Sendable, Equatable {
    /// Which record.
    public var kind: BackupRecordKind
    /// The backup id.
    public var backupID: String
    /// The server name.
    public var server: String
    /// The label given to PostgreSQL.
    public var label: String
    /// Where the backup started, once known.
    public var start: BackupStartPoint?
    /// The stop result (end LSN, `backup_label`), once known.
    public var stop: BackupStopped?
    /// DONE: every snapshot; FAILED: the snapshots that could not be deleted (so `snapshots_info` names them).
    public var snapshots: [TakenSnapshot]
    /// Why it failed, for FAILED.
    public var failure: BackupFailure?
    /// Seconds from the run's start to the DONE record (barman's `copy_stats`), for DONE.
    public var copyTime: TimeInterval?
    /// DONE: snapshots tagged with this backup that are not part of it and could not be deleted.
    public var foreignSnapshots: [String] = []

    /// barman's `error` field: for FAILED, `failure <step> (<first line of the cause>)` naming the
    /// snapshots left behind; for DONE, only when snapshots not part of the backup were left behind.
    public var error: String? {
        if let failure { return Self.errorText(failure, notDeleted: snapshots.map(\.snapshot.id)) }
        guard !foreignSnapshots.isEmpty else { return nil }
        return "snapshots tagged with this backup but not part of it, not deleted: " + foreignSnapshots.joined(separator: ", ")
    }

    /// `failure <step> (<first line of the cause>)`, then the snapshots that could not be deleted.
    public static func errorText(_ failure: BackupFailure, notDeleted: [String]) -> String {
        let firstLine = failure.cause.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let text = "failure \(failure.step.rawValue) (\(firstLine))"
        return notDeleted.isEmpty ? text : text + "; snapshots not deleted: " + notDeleted.joined(separator: ", ")
    }
}

/// How a run ended, handed to whoever started it.
public struct BackupRunResult: Sendable, Equatable {
    /// The backup id.
    public var backupID: String
    /// DONE or FAILED.
    public var status: BackupRecordKind
    /// Why it failed, if it did.
    public var failure: BackupFailure?
    /// Seconds from `backup_start` returning to `backup_stop` being requested, if the backup got that far.
    public var backupWindow: TimeInterval?
    /// DONE: every snapshot; FAILED: those left behind (named in the record).
    public var snapshots: [TakenSnapshot]
    /// What went wrong while cleaning up or recording (failed deletes, abort, record writes).
    public var problems: [String]
    /// Seconds from the end of the backup window until every snapshot completed, if they did.
    public var snapshotWait: TimeInterval? = nil
}

/// What happened: a result the runner fed back, the agent's notification, or the clock.
public enum BackupEvent: Sendable {
    /// The agent's `backup_start` answered.
    case startReturned(Result<BackupStartPoint, SnapfleetError>)
    /// `createSnapshot` of the disk with this provider id returned.
    case snapshotCreated(diskID: String, Result<SnapshotInfo, SnapfleetError>)
    /// The agent's `backup_stop` answered.
    case stopReturned(Result<BackupStopped, SnapfleetError>)
    /// The `backup_label` upload finished.
    case labelStored(Result<Void, SnapfleetError>)
    /// `describeSnapshot` of the snapshot with this id returned.
    case snapshotDescribed(snapshotID: String, Result<SnapshotInfo, SnapfleetError>)
    /// A backup.info write finished.
    case recordWritten(BackupRecordKind, Result<Void, SnapfleetError>)
    /// `deleteSnapshot` of the snapshot with this id returned.
    case snapshotDeleted(snapshotID: String, Result<Void, SnapfleetError>)
    /// `listBackupSnapshots` returned: every snapshot the provider holds with this backup's tag.
    case backupSnapshotsListed(Result<[SnapshotInfo], SnapfleetError>)
    /// `lockSnapshot` of the snapshot with this id returned (the snapshot with its lock mode).
    case snapshotLocked(snapshotID: String, Result<SnapshotInfo, SnapfleetError>)
    /// The agent's `backup_abort` answered.
    case agentAborted(Result<Void, SnapfleetError>)
    /// The agent's `backup_lease_expired` notification.
    case leaseExpired
    /// Time passed (the runner ticks every few seconds).
    case tick
}

/// What the runner must do; every action is answered by exactly one event (except `renewLease` and `finish`).
public enum BackupAction: Sendable, Equatable {
    /// Write backup.info; answered by `recordWritten`.
    case writeRecord(BackupRecord)
    /// Send `backup_start`; answered by `startReturned`.
    case startAgentBackup(BackupStart)
    /// Create a snapshot; answered by `snapshotCreated`.
    case createSnapshot(DiskInfo, SnapshotRequest)
    /// Send `backup_stop`; answered by `stopReturned`.
    case stopAgentBackup(BackupStop)
    /// Upload `backup_label`; answered by `labelStored`.
    case storeLabel(String)
    /// Describe a snapshot; answered by `snapshotDescribed`.
    case describeSnapshot(SnapshotInfo)
    /// Send `backup_renew` (fire and forget: a lost renewal ends as `leaseExpired`).
    case renewLease(BackupRenew)
    /// Send `backup_abort`; answered by `agentAborted`.
    case abortAgentBackup(BackupReference)
    /// Delete a snapshot; answered by `snapshotDeleted`.
    case deleteSnapshot(SnapshotInfo)
    /// List the provider's snapshots tagged with this backup's id; answered by `backupSnapshotsListed`.
    case listBackupSnapshots
    /// Lock a completed snapshot; answered by `snapshotLocked`.
    case lockSnapshot(SnapshotInfo, SnapshotLockPolicy)
    /// The run is over; nothing more will be asked except deletes of late snapshots.
    case finish(BackupRunResult)
}
