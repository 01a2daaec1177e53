import SnapfleetCore

/// `wal_archiving`: how the agent's WAL archiving stands (agent → controller, after a hello and
/// whenever it changed, at most once a heartbeat interval). Counts are since the agent started.
public struct WALArchivingReport: WireBody {
    /// WAL files made durable in the archive.
    public var archivedCount: Int
    /// Uploads that failed (each retry counts).
    public var failedCount: Int
    /// The file archived last (as PostgreSQL's `pg_stat_archiver` reports it).
    public var lastArchivedWAL: String?
    /// When it was archived (RFC 3339).
    public var lastArchivedAt: String?
    /// The file whose upload failed last.
    public var lastFailedWAL: String?
    /// When it failed (RFC 3339).
    public var lastFailedAt: String?
    /// Why it failed.
    public var lastError: String?
    /// Files PostgreSQL has marked ready that are not archived yet.
    public var waiting: Int
    /// Since when the oldest of them has been waiting (RFC 3339); nil when none waits.
    public var oldestWaitingSince: String?
    /// Upload URLs the agent holds, unexpired, for segments still to come.
    public var urlsInHand: Int

    /// Creates a report.
    public init(
        archivedCount: Int = 0, failedCount: Int = 0, lastArchivedWAL: String? = nil, lastArchivedAt: String? = nil,
        lastFailedWAL: String? = nil, lastFailedAt: String? = nil, lastError: String? = nil, waiting: Int = 0,
        oldestWaitingSince: String? = nil, urlsInHand: Int = 0
    ) {
        self.archivedCount = archivedCount
        self.failedCount = failedCount
        self.lastArchivedWAL = lastArchivedWAL
        self.lastArchivedAt = lastArchivedAt
        self.lastFailedWAL = lastFailedWAL
        self.lastFailedAt = lastFailedAt
        self.lastError = lastError.map { Wire.sanitized($0) }
        self.waiting = waiting
        self.oldestWaitingSince = oldestWaitingSince
        self.urlsInHand = urlsInHand
    }

    enum CodingKeys: String, CodingKey {
        case archivedCount = "archived_count"
        case failedCount = "failed_count"
        case lastArchivedWAL = "last_archived_wal"
        case lastArchivedAt = "last_archived_at"
        case lastFailedWAL = "last_failed_wal"
        case lastFailedAt = "last_failed_at"
        case lastError = "last_error"
        case waiting
        case oldestWaitingSince = "oldest_waiting_since"
        case urlsInHand = "urls_in_hand"
    }

    /// Whether the newest upload attempt failed (a failure newer than the last success).
    public var failing: Bool {
        guard let failed = lastFailedAt.flatMap(Timestamp.parse) else { return false }
        guard let archived = lastArchivedAt.flatMap(Timestamp.parse) else { return true }
        return failed > archived
    }

    /// Counts in range, WAL names, bounded texts.
    public func validate() throws(SnapfleetError) {
        for (value, field) in [(archivedCount, "archived_count"), (failedCount, "failed_count"), (waiting, "waiting"), (urlsInHand, "urls_in_hand")] {
            try Wire.checkRange(value, 0...Int(Int32.max), field: field)
        }
        for case (let name?, let field) in [(lastArchivedWAL, "last_archived_wal"), (lastFailedWAL, "last_failed_wal")] {
            try Wire.checkWALArchiveName(name, field: field)
        }
        let times = [(lastArchivedAt, "last_archived_at"), (lastFailedAt, "last_failed_at"), (oldestWaitingSince, "oldest_waiting_since")]
        for case (let time?, let field) in times { try Wire.checkText(time, field: field, maxLength: 64) }
        if let lastError { try Wire.checkText(lastError, field: "last_error") }
    }
}
