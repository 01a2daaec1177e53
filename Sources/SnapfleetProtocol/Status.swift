import SnapfleetCore

/// `status_request`: the state of the fleet, or of one server (operator → controller), a page of
/// servers at a time so that a fleet of thousands fits the envelope limit.
public struct StatusRequest: WireBody {
    /// Only this server; every configured server when nil.
    public var server: String?
    /// The page after this server name (servers come sorted by name); the first page when nil.
    public var after: String?

    /// Creates a request.
    public init(server: String? = nil, after: String? = nil) {
        self.server = server
        self.after = after
    }

    enum CodingKeys: String, CodingKey {
        case server, after
    }

    /// Checks the names.
    public func validate() throws(SnapfleetError) {
        if let server { try Wire.checkServerName(server) }
        if let after { try Wire.checkServerName(after, field: "after") }
    }
}

/// `status_report`: one page of servers' states, and the fleet's backup slots.
public struct StatusReport: WireBody {
    /// The most servers one page holds.
    public static let pageSize = 200

    /// When the controller put the report together (RFC 3339).
    public var generatedAt: String
    /// The servers of this page, sorted by name.
    public var servers: [ServerStatus]
    /// Whether more servers follow: ask again with `after` set to the last one here.
    public var more: Bool
    /// Backups holding a slot now, fleet-wide.
    public var backupsRunning: Int
    /// Backups waiting for a slot.
    public var backupsQueued: Int
    /// The controller's `max_concurrent_backups`.
    public var maxConcurrentBackups: Int

    /// Creates a report.
    public init(generatedAt: String, servers: [ServerStatus], more: Bool, backupsRunning: Int, backupsQueued: Int, maxConcurrentBackups: Int) {
        self.generatedAt = generatedAt
        self.servers = servers
        self.more = more
        self.backupsRunning = backupsRunning
        self.backupsQueued = backupsQueued
        self.maxConcurrentBackups = maxConcurrentBackups
    }

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at"
        case servers, more
        case backupsRunning = "backups_running"
        case backupsQueued = "backups_queued"
        case maxConcurrentBackups = "max_concurrent_backups"
    }

    /// Checks every server and the page size.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(generatedAt, field: "generated_at", maxLength: 64)
        guard servers.count <= Self.pageSize else { throw SnapfleetError(.invalidBody, "servers: more than \(Self.pageSize) in one page") }
        for server in servers { try server.validate() }
        for (value, field) in [
            (backupsRunning, "backups_running"), (backupsQueued, "backups_queued"), (maxConcurrentBackups, "max_concurrent_backups"),
        ] {
            try Wire.checkRange(value, 0...1_000_000, field: field)
        }
    }
}

/// How a server stands, as a Nagios plugin says it.
public enum HealthLevel: String, Codable, Sendable, Comparable, CaseIterable {
    /// Nothing to report (exit status 0).
    case ok = "OK"
    /// Look soon (exit status 1).
    case warning = "WARNING"
    /// Act now (exit status 2).
    case critical = "CRITICAL"

    /// The exit status monitoring systems read.
    public var exitStatus: Int32 {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        }
    }

    /// OK < WARNING < CRITICAL.
    public static func < (lhs: HealthLevel, rhs: HealthLevel) -> Bool { lhs.exitStatus < rhs.exitStatus }
}

/// One server's state: its agent, its backups, its schedule, and what is wrong.
public struct ServerStatus: WireBody {
    /// The server name.
    public var server: String
    /// The worst of `problems` (OK when there are none).
    public var level: HealthLevel
    /// What is wrong, worst first, each a sentence.
    public var problems: [String]
    /// Whether its agent is connected now.
    public var agentConnected: Bool
    /// Since when it has been connected, or away (RFC 3339; away since the controller started
    /// when it never connected).
    public var agentSince: String?
    /// The newest backup in its catalog, whatever its status.
    public var lastBackup: BackupSummary?
    /// The newest DONE backup.
    public var lastGoodBackup: BackupSummary?
    /// The last attempt that failed before it made a backup (pre-flight, agent away), if it is
    /// newer than `last_backup`.
    public var lastAttemptError: String?
    /// The cron schedule, if it has one.
    public var schedule: String?
    /// When the next scheduled backup is due (RFC 3339).
    public var nextBackup: String?
    /// The newest slot the schedule missed while the controller was down (it was run once on start).
    public var missedSlot: String?
    /// The backup running now, where it stands.
    public var running: BackupProgress?
    /// Whether a backup is waiting for one of the fleet's slots.
    public var queued: Bool
    /// The retention policy, if it has one.
    public var retentionPolicy: String?
    /// How the last retention run went ("applied at …" or why it failed).
    public var retention: String?
    /// The agent's last WAL archiving report (the last known one while the agent is away).
    public var walArchiving: WALArchivingReport?
    /// How long the oldest WAL file not yet archived has waited, in seconds (0 when none waits).
    public var walLagSeconds: Int?

    /// Creates a status with nothing known but the name and the agent.
    public init(server: String, agentConnected: Bool) {
        self.server = server
        self.level = .ok
        self.problems = []
        self.agentConnected = agentConnected
        self.queued = false
    }

    enum CodingKeys: String, CodingKey {
        case server, level, problems
        case agentConnected = "agent_connected"
        case agentSince = "agent_since"
        case lastBackup = "last_backup"
        case lastGoodBackup = "last_good_backup"
        case lastAttemptError = "last_attempt_error"
        case schedule
        case nextBackup = "next_backup"
        case missedSlot = "missed_slot"
        case running, queued
        case retentionPolicy = "retention_policy"
        case retention
        case walArchiving = "wal_archiving"
        case walLagSeconds = "wal_lag_seconds"
    }

    /// Checks the name and bounds every text.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        guard problems.count <= 32 else { throw SnapfleetError(.invalidBody, "problems: more than 32") }
        for problem in problems { try Wire.checkText(problem, field: "problems") }
        let texts: [(String?, String)] = [
            (agentSince, "agent_since"), (lastAttemptError, "last_attempt_error"), (schedule, "schedule"), (nextBackup, "next_backup"),
            (missedSlot, "missed_slot"), (retentionPolicy, "retention_policy"), (retention, "retention"),
        ]
        for case (let text?, let field) in texts { try Wire.checkText(text, field: field) }
        try lastBackup?.validate()
        try lastGoodBackup?.validate()
        try running?.validate()
        try walArchiving?.validate()
        if let walLagSeconds { try Wire.checkRange(walLagSeconds, 0...Int(Int32.max), field: "wal_lag_seconds") }
    }
}

/// A backup as `status` shows it.
public struct BackupSummary: WireBody {
    /// The backup's id.
    public var backupID: String
    /// Its `backup.info` status (`DONE`, `FAILED`, `STARTED`, …).
    public var status: String
    /// When it began (RFC 3339).
    public var startedAt: String?
    /// When it ended (RFC 3339).
    public var finishedAt: String?
    /// The backup window in milliseconds, when snapfleet measured it.
    public var backupWindowMs: Int?
    /// Why it failed.
    public var error: String?

    /// Creates a summary.
    public init(
        backupID: String, status: String, startedAt: String? = nil, finishedAt: String? = nil, backupWindowMs: Int? = nil, error: String? = nil
    ) {
        self.backupID = backupID
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.backupWindowMs = backupWindowMs
        self.error = error.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case status
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case backupWindowMs = "backup_window_ms"
        case error
    }

    /// Checks the id and bounds every text.
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try Wire.checkText(status, field: "status", maxLength: 32)
        for case (let text?, let field) in [(startedAt, "started_at"), (finishedAt, "finished_at"), (error, "error")] {
            try Wire.checkText(text, field: field)
        }
        if let backupWindowMs { try Wire.checkRange(backupWindowMs, 0...Int(Int32.max) * 1000, field: "backup_window_ms") }
    }
}
