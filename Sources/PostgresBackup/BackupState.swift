import SnapfleetCore

/// Where a backup is in its life; raw values are the wire spelling.
public enum BackupPhase: String, Sendable, Codable, CaseIterable {
    /// `pg_backup_start` is running (it may wait for a checkpoint).
    case starting
    /// The backup is in progress; the disks can be snapshotted.
    case running
    /// `pg_backup_stop` is running (it may wait for WAL archiving).
    case stopping
    /// The backup stopped; its `backup_label` is known.
    case stopped
    /// The backup was aborted on request.
    case aborted
    /// Neither a renewal nor a stop came before the lease ran out, so the agent ended the backup.
    case leaseExpired = "lease_expired"
    /// The backup failed (start or stop error, or its session was lost).
    case failed

    /// Whether the backup is over (no PostgreSQL session is held for it).
    public var isFinished: Bool {
        switch self {
        case .starting, .running, .stopping: false
        case .stopped, .aborted, .leaseExpired, .failed: true
        }
    }
}

/// A backup as the agent's session sees it.
public struct BackupState: Sendable, Equatable {
    /// The backup id the controller chose.
    public var backupID: String
    /// The label passed to `pg_backup_start`.
    public var label: String
    /// Where the backup is.
    public var phase: BackupPhase
    /// What start reported, once it succeeded.
    public var start: BackupStartInfo?
    /// What stop reported, once it succeeded.
    public var stop: BackupStopInfo?
    /// When the lease runs out (nil once a stop was requested or the backup is over).
    public var leaseDeadline: ContinuousClock.Instant?
    /// Why the backup failed, for phase `failed`.
    public var failure: SnapfleetError?

    /// Describes a backup.
    public init(
        backupID: String, label: String, phase: BackupPhase, start: BackupStartInfo? = nil,
        stop: BackupStopInfo? = nil, leaseDeadline: ContinuousClock.Instant? = nil, failure: SnapfleetError? = nil
    ) {
        self.backupID = backupID
        self.label = label
        self.phase = phase
        self.start = start
        self.stop = stop
        self.leaseDeadline = leaseDeadline
        self.failure = failure
    }
}
