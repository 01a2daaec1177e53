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
