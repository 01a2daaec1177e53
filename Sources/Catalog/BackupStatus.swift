/// A backup's `status` in `backup.info` (barman's status constants, spec §3.2).
public enum BackupStatus: String, Sendable, Hashable, CaseIterable {
    /// No status recorded yet (barman's default for a file without `status`).
    case empty = "EMPTY"
    /// The backup has begun (barman-cloud writes this once at start, Appendix C).
    case started = "STARTED"
    /// The backup failed; `error` says why.
    case failed = "FAILED"
    /// The copy is done and WAL is still being waited for.
    case waitingForWALs = "WAITING_FOR_WALS"
    /// The backup completed.
    case done = "DONE"
    /// Being copied from a primary Barman server.
    case syncing = "SYNCING"

    /// Whether the copy is complete (`DONE` or `WAITING_FOR_WALS`), as barman's readers treat it.
    public var isCopyDone: Bool { self == .done || self == .waitingForWALs }
}
