/// What `pg_backup_start` reported.
public struct BackupStartInfo: Sendable, Equatable {
    /// The backup's start LSN (the checkpoint's redo location).
    public var lsn: LSN
    /// The WAL segment holding the start LSN, as `backup_label` names it.
    public var walFileName: WALFileName
    /// The timeline the backup starts on.
    public var timeline: UInt32
    /// When the backup started on the server's clock, ISO 8601 with offset (`2024-03-15T02:15:01.123456+00:00`).
    public var time: String

    /// Describes a started backup.
    public init(lsn: LSN, walFileName: WALFileName, timeline: UInt32, time: String) {
        self.lsn = lsn
        self.walFileName = walFileName
        self.timeline = timeline
        self.time = time
    }
}

/// What `pg_backup_stop` reported.
public struct BackupStopInfo: Sendable, Equatable {
    /// The backup's stop LSN: the end of the backup-end record.
    public var lsn: LSN
    /// The WAL segment holding the stop LSN, as the backup history file names it.
    public var walFileName: WALFileName
    /// The timeline at stop.
    public var timeline: UInt32
    /// The `backup_label` file's contents, to be put into PGDATA before recovery.
    public var backupLabel: String
    /// The `tablespace_map` file's contents (empty or nil when there are no tablespaces).
    public var tablespaceMap: String?
    /// When the backup stopped on the server's clock, ISO 8601 with offset.
    public var time: String

    /// Describes a stopped backup.
    public init(
        lsn: LSN, walFileName: WALFileName, timeline: UInt32, backupLabel: String, tablespaceMap: String?,
        time: String
    ) {
        self.lsn = lsn
        self.walFileName = walFileName
        self.timeline = timeline
        self.backupLabel = backupLabel
        self.tablespaceMap = tablespaceMap
        self.time = time
    }
}
