import SnapfleetCore

/// `backup_start`: start a non-exclusive backup on the agent's own session, under a lease.
public struct BackupStart: WireBody {
    /// The backup's id (`YYYYMMDDTHHMMSS`); a repeated start with the same id is idempotent.
    public var backupID: String
    /// The label PostgreSQL writes into `backup_label`.
    public var label: String
    /// Whether PostgreSQL should checkpoint immediately rather than spread the checkpoint.
    public var fastCheckpoint: Bool
    /// How long the backup may run without a renewal or a stop before the agent ends it.
    public var leaseSeconds: Int

    /// Creates a start request.
    public init(backupID: String, label: String, fastCheckpoint: Bool, leaseSeconds: Int) {
        self.backupID = backupID
        self.label = label
        self.fastCheckpoint = fastCheckpoint
        self.leaseSeconds = leaseSeconds
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case label
        case fastCheckpoint = "fast_checkpoint"
        case leaseSeconds = "lease_seconds"
    }

    /// Checks the id, the label (it is written into `backup_label`) and the lease.
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try Wire.checkText(label, field: "label", maxLength: 1024)
        try Wire.checkRange(leaseSeconds, 1...86_400, field: "lease_seconds")
    }
}

/// `backup_renew`: extend a running backup's lease.
public struct BackupRenew: WireBody {
    /// The backup's id.
    public var backupID: String
    /// The new lease, counted from when the agent receives this message.
    public var leaseSeconds: Int

    /// Creates a renewal.
    public init(backupID: String, leaseSeconds: Int) {
        self.backupID = backupID
        self.leaseSeconds = leaseSeconds
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case leaseSeconds = "lease_seconds"
    }

    /// Checks the id and the lease.
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try Wire.checkRange(leaseSeconds, 1...86_400, field: "lease_seconds")
    }
}

/// `backup_stop`: stop the backup and return `backup_label`.
public struct BackupStop: WireBody {
    /// The backup's id.
    public var backupID: String
    /// Whether PostgreSQL should wait until the last WAL segment of the backup is archived.
    public var waitForArchive: Bool

    /// Creates a stop request.
    public init(backupID: String, waitForArchive: Bool) {
        self.backupID = backupID
        self.waitForArchive = waitForArchive
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case waitForArchive = "wait_for_archive"
    }

    /// Checks the id.
    public func validate() throws(SnapfleetError) { try Wire.checkBackupID(backupID) }
}

/// `backup_abort` and `backup_status`: a request that names only a backup.
public struct BackupReference: WireBody {
    /// The backup's id.
    public var backupID: String

    /// Names a backup.
    public init(backupID: String) { self.backupID = backupID }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
    }

    /// Checks the id.
    public func validate() throws(SnapfleetError) { try Wire.checkBackupID(backupID) }
}

/// Where a backup started, as PostgreSQL reported it.
public struct BackupStartPoint: WireBody {
    /// The start LSN, `X/X`.
    public var lsn: String
    /// The WAL segment holding the start LSN.
    public var walFile: String
    /// The timeline.
    public var timeline: UInt32
    /// When the backup started (server clock, RFC 3339).
    public var time: String

    /// Creates a start point.
    public init(lsn: String, walFile: String, timeline: UInt32, time: String) {
        self.lsn = lsn
        self.walFile = walFile
        self.timeline = timeline
        self.time = time
    }

    enum CodingKeys: String, CodingKey {
        case lsn
        case walFile = "wal_file"
        case timeline
        case time
    }

    /// Checks the formats.
    public func validate() throws(SnapfleetError) {
        try Wire.checkLSN(lsn, field: "start.lsn")
        try Wire.checkWALFileName(walFile, field: "start.wal_file")
        try Wire.checkText(time, field: "start.time", maxLength: 64)
    }
}

/// The phases of a backup session on the agent.
public enum BackupPhase: String, Codable, Sendable, CaseIterable {
    /// `pg_backup_start` is running (it may be waiting for a checkpoint).
    case starting
    /// The backup is running; the lease is counting down.
    case running
    /// `pg_backup_stop` is running.
    case stopping
    /// The backup stopped normally; the stop result is kept for repeated stops.
    case stopped
    /// The backup was ended on request.
    case aborted
    /// Neither a renewal nor a stop came in time, so the agent ended the backup.
    case leaseExpired = "lease_expired"
    /// PostgreSQL failed during start or stop, or the session was lost.
    case failed
}

/// `backup_state`: where a backup session stands.
public struct BackupState: WireBody {
    /// The backup's id.
    public var backupID: String
    /// Its phase.
    public var phase: BackupPhase
    /// Where it started, once started.
    public var start: BackupStartPoint?
    /// When the lease ends (RFC 3339), while running.
    public var leaseExpiresAt: String?
    /// Why it failed or ended, if it did.
    public var reason: String?

    /// Creates a state report.
    public init(backupID: String, phase: BackupPhase, start: BackupStartPoint?, leaseExpiresAt: String?, reason: String?) {
        self.backupID = backupID
        self.phase = phase
        self.start = start
        self.leaseExpiresAt = leaseExpiresAt
        self.reason = reason.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case phase
        case start
        case leaseExpiresAt = "lease_expires_at"
        case reason
    }

    /// Checks the id and nested values.
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try start?.validate()
        if let leaseExpiresAt { try Wire.checkText(leaseExpiresAt, field: "lease_expires_at", maxLength: 64) }
        if let reason { try Wire.checkText(reason, field: "reason") }
    }
}

/// `backup_stopped`: the result of `pg_backup_stop`.
public struct BackupStopped: WireBody {
    /// The backup's id.
    public var backupID: String
    /// Where it started.
    public var start: BackupStartPoint
    /// The stop LSN, `X/X`.
    public var stopLSN: String
    /// The WAL segment holding the stop LSN.
    public var stopWALFile: String
    /// When it stopped (server clock, RFC 3339).
    public var stopTime: String
    /// The `backup_label` file's contents, to be stored beside the snapshots.
    public var backupLabel: String
    /// The `tablespace_map` file's contents, empty without tablespaces.
    public var tablespaceMap: String

    /// Creates a stop result.
    public init(
        backupID: String, start: BackupStartPoint, stopLSN: String, stopWALFile: String, stopTime: String,
        backupLabel: String, tablespaceMap: String
    ) {
        self.backupID = backupID
        self.start = start
        self.stopLSN = stopLSN
        self.stopWALFile = stopWALFile
        self.stopTime = stopTime
        self.backupLabel = backupLabel
        self.tablespaceMap = tablespaceMap
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case start
        case stopLSN = "stop_lsn"
        case stopWALFile = "stop_wal_file"
        case stopTime = "stop_time"
        case backupLabel = "backup_label"
        case tablespaceMap = "tablespace_map"
    }

    /// Checks formats and bounds (the label files are multi-line by nature).
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try start.validate()
        try Wire.checkLSN(stopLSN, field: "stop_lsn")
        try Wire.checkWALFileName(stopWALFile, field: "stop_wal_file")
        try Wire.checkText(stopTime, field: "stop_time", maxLength: 64)
        guard backupLabel.utf8.count <= ProtocolLimits.maxLabelFileLength,
            tablespaceMap.utf8.count <= ProtocolLimits.maxLabelFileLength
        else { throw SnapfleetError(.invalidBody, "backup_label and tablespace_map must be at most 64 KiB") }
    }
}

/// `backup_lease_expired`: the agent ended a backup whose lease ran out.
public struct BackupLeaseExpired: WireBody {
    /// The backup's id.
    public var backupID: String
    /// When the agent ended it (RFC 3339).
    public var endedAt: String

    /// Creates the notification.
    public init(backupID: String, endedAt: String) {
        self.backupID = backupID
        self.endedAt = endedAt
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case endedAt = "ended_at"
    }

    /// Checks the id.
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try Wire.checkText(endedAt, field: "ended_at", maxLength: 64)
    }
}
