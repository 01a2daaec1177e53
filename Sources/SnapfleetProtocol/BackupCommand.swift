import SnapfleetCore

/// `backup_run`: take a backup of a server now (operator → controller).
public struct BackupRunRequest: WireBody {
    /// The server to back up.
    public var server: String
    /// An optional name for the backup (barman's `backup_name`).
    public var name: String?
    /// Whether PostgreSQL should checkpoint immediately.
    public var immediateCheckpoint: Bool

    /// Creates a request.
    public init(server: String, name: String? = nil, immediateCheckpoint: Bool) {
        self.server = server
        self.name = name
        self.immediateCheckpoint = immediateCheckpoint
    }

    enum CodingKeys: String, CodingKey {
        case server, name
        case immediateCheckpoint = "immediate_checkpoint"
    }

    /// Checks the server name and the backup name.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        if let name { try Wire.checkText(name, field: "name", maxLength: 256) }
    }
}

/// `backup_result`: how a backup ended.
public struct BackupRunOutcome: WireBody {
    /// The server.
    public var server: String
    /// The backup's id.
    public var backupID: String
    /// `DONE` or `FAILED`.
    public var status: String
    /// The backup window (start returned → stop called), in milliseconds, when it was reached.
    public var backupWindowMs: Int?
    /// Why it failed.
    public var error: String?

    /// Creates an outcome.
    public init(server: String, backupID: String, status: String, backupWindowMs: Int?, error: String?) {
        self.server = server
        self.backupID = backupID
        self.status = status
        self.backupWindowMs = backupWindowMs
        self.error = error.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case server
        case backupID = "backup_id"
        case status
        case backupWindowMs = "backup_window_ms"
        case error
    }

    /// Checks names and texts.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        try Wire.checkBackupID(backupID)
        guard ["DONE", "FAILED"].contains(status) else { throw SnapfleetError(.invalidBody, "status must be DONE or FAILED") }
        if let error { try Wire.checkText(error, field: "error") }
    }
}

/// `backup_progress`: where a running backup stands, sent to the operator whose `backup_run` waits.
public struct BackupProgress: WireBody {
    /// The phases a backup reports, in the order they come.
    public static let phases = [
        "starting", "checkpoint", "snapshotting", "stopping", "storing", "awaiting_snapshots", "locking", "finishing", "cleaning_up",
    ]

    /// The server.
    public var server: String
    /// The backup's id.
    public var backupID: String
    /// One of `phases`: `checkpoint` while `pg_backup_start` waits for PostgreSQL's checkpoint.
    public var phase: String
    /// Whole seconds spent in this phase so far.
    public var seconds: Int
    /// What the phase waits for (e.g. snapshots and their progress).
    public var detail: String?

    /// Creates a progress report.
    public init(server: String, backupID: String, phase: String, seconds: Int, detail: String?) {
        self.server = server
        self.backupID = backupID
        self.phase = phase
        self.seconds = seconds
        self.detail = detail.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case server
        case backupID = "backup_id"
        case phase, seconds, detail
    }

    /// Checks names, the phase, the seconds and the detail.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        try Wire.checkBackupID(backupID)
        guard Self.phases.contains(phase) else { throw SnapfleetError(.invalidBody, "phase must be one of \(Self.phases.joined(separator: ", "))") }
        guard seconds >= 0 else { throw SnapfleetError(.invalidBody, "seconds must not be negative") }
        if let detail { try Wire.checkText(detail, field: "detail") }
    }
}
