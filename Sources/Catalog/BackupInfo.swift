/// The `backup.info` metadata file of one backup, with barman's fields typed (spec §3).
///
/// Keys this version does not know are kept raw in `additionalFields` and written back in their
/// sorted place, so a file from a newer barman round-trips byte for byte.
public struct BackupInfo: Sendable, Hashable {
    /// `backup_label`: the label text from `pg_backup_stop` (nil while the backup has not stopped).
    public var backupLabel: String?
    /// `backup_name`: the operator's name for the backup; the line is omitted when nil.
    public var backupName: String?
    /// `begin_offset`: the start LSN's offset within its segment.
    public var beginOffset: Int?
    /// `begin_time`: PostgreSQL's `now()` at `pg_backup_start`.
    public var beginTime: PythonDateTime?
    /// `begin_wal`: the segment holding the start LSN.
    public var beginWAL: String?
    /// `begin_xlog`: the start LSN as `%X/%X`.
    public var beginXlog: String?
    /// `children_backup_ids`: incremental children (comma-separated; nil for snapshot backups).
    public var childrenBackupIDs: [String]?
    /// `cluster_size`: the sum of tablespace sizes in bytes.
    public var clusterSize: Int?
    /// `compression`: nil for snapshot backups.
    public var compression: String?
    /// `config_file`: `postgresql.conf`'s path.
    public var configFile: String?
    /// `copy_stats`: a dict such as `{'copy_time': 70.1, 'total_time': 70.1}`, kept as a literal.
    public var copyStats: PythonLiteral?
    /// `data_checksums`: `on` or `off`.
    public var dataChecksums: String?
    /// `deduplicated_size`: nil for snapshot backups.
    public var deduplicatedSize: Int?
    /// `encryption`: nil for snapshot backups.
    public var encryption: String?
    /// `end_offset`: the stop LSN's offset within its segment.
    public var endOffset: Int?
    /// `end_time`: PostgreSQL's `now()` at `pg_backup_stop`.
    public var endTime: PythonDateTime?
    /// `end_wal`: the segment holding the stop LSN.
    public var endWAL: String?
    /// `end_xlog`: the stop LSN as `%X/%X`.
    public var endXlog: String?
    /// `error`: `failure <action> (<first line>)` for a FAILED backup.
    public var error: String?
    /// `hba_file`: `pg_hba.conf`'s path.
    public var hbaFile: String?
    /// `ident_file`: `pg_ident.conf`'s path.
    public var identFile: String?
    /// `included_files`: configuration files other than `config_file`.
    public var includedFiles: [String]?
    /// `mode`: nil for barman-cloud backups.
    public var mode: String?
    /// `parent_backup_id`: nil for snapshot backups.
    public var parentBackupID: String?
    /// `pgdata`: `data_directory`.
    public var pgdata: String?
    /// `server_name`: the server name given at backup time.
    public var serverName: String?
    /// `size`: nil for snapshot backups.
    public var size: Int?
    /// `snapshots_info`: the snapshots; the line is omitted when nil.
    public var snapshotsInfo: SnapshotsInfo?
    /// `status`: `EMPTY` when the file has none.
    public var status: BackupStatus
    /// `summarize_wal`: `SHOW summarize_wal` on PostgreSQL 17 and later.
    public var summarizeWAL: String?
    /// `systemid`: the cluster's system identifier (digits).
    public var systemID: String?
    /// `tablespaces`: the tablespaces outside PGDATA.
    public var tablespaces: [BackupTablespace]?
    /// `timeline`: the timeline at backup start.
    public var timeline: Int?
    /// `version`: `server_version_num`, e.g. `160002`.
    public var version: Int?
    /// `xlog_segment_size`: the WAL segment size in bytes (16 MiB when the file has none).
    public var xlogSegmentSize: Int?
    /// Keys this version does not know, with their raw values (`None` stays the text `None`).
    public var additionalFields: [String: String]

    /// barman's default segment size, used when `xlog_segment_size` is absent.
    public static let defaultSegmentSize = 16_777_216

    /// An empty record with barman's defaults: status `EMPTY`, 16 MiB segments, everything else nil.
    public init(status: BackupStatus = .empty) {
        self.status = status
        xlogSegmentSize = Self.defaultSegmentSize
        additionalFields = [:]
    }

    /// `{'copy_time': …, 'total_time': …}`, the `copy_stats` barman-cloud writes for a snapshot backup.
    public static func copyStats(copyTime: Double, totalTime: Double) -> PythonLiteral {
        .dict(["copy_time": .float(copyTime), "total_time": .float(totalTime)])
    }
}
