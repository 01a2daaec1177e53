/// The SQL of PostgreSQL's backup API, by server version.
///
/// PostgreSQL 15 renamed `pg_start_backup`/`pg_stop_backup` to `pg_backup_start`/`pg_backup_stop`
/// and removed exclusive backups, so older servers need the third `false` (non-exclusive).
enum BackupStatements {
    /// The server clock as ISO 8601 with the session's offset (`TZH:TZM` exists since PostgreSQL 11).
    ///
    /// `clock_timestamp()` is read as the row is projected, after the backup function returned,
    /// so it is the time the backup really started (after the checkpoint) or stopped.
    private static let now = #"to_char(clock_timestamp(), 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM')"#

    /// Starts a non-exclusive backup: `$1` label, `$2` fast checkpoint; returns lsn, timeline, time.
    ///
    /// The timeline is the one of the checkpoint the backup starts from, as `backup_label`'s
    /// `START TIMELINE` (this also works on a standby, where `pg_walfile_name` is refused).
    static func start(versionNumber: Int) -> String {
        let call = versionNumber >= 150_000 ? "pg_backup_start($1, $2)" : "pg_start_backup($1, $2, false)"
        return """
            SELECT b::text, (SELECT timeline_id FROM pg_control_checkpoint())::text, \(now)
            FROM \(call) AS b
            """
    }

    /// Whether `pg_backup_stop(true)` would wait for archiving here: archive_mode on (or always on a standby).
    static let archivingActive = """
        SELECT CASE WHEN pg_is_in_recovery() THEN current_setting('archive_mode') = 'always'
                    ELSE current_setting('archive_mode') <> 'off' END
        """

    /// The data directory (readable with pg_read_all_settings, as barman's backup role has it).
    static let dataDirectory = "SELECT current_setting('data_directory', true)"

    /// The archiver's last stored and last failed file names.
    static let archiverProgress = "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"

    /// Stops the session's backup: `$1` wait for archive; returns lsn, labelfile, spcmapfile, timeline, time.
    static func stop(versionNumber: Int) -> String {
        let call = versionNumber >= 150_000 ? "pg_backup_stop($1)" : "pg_stop_backup(false, $1)"
        return """
            SELECT s.lsn::text, s.labelfile, s.spcmapfile,
                   (SELECT CASE WHEN pg_is_in_recovery() THEN min_recovery_end_timeline ELSE timeline_id END
                    FROM pg_control_checkpoint(), pg_control_recovery())::text,
                   \(now)
            FROM \(call) AS s
            """
    }

    /// Ends the session's backup without waiting for archiving (abort and lease expiry).
    static func stopWithoutWaiting(versionNumber: Int) -> String {
        versionNumber >= 150_000 ? "SELECT pg_backup_stop(false)" : "SELECT pg_stop_backup(false, false)"
    }

    /// The WAL segment size in bytes (`current_setting` would give `16MB`).
    static let walSegmentSize = "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"

    /// Sets a setting for the session without putting its value into the SQL text.
    static let setConfig = "SELECT set_config($1, $2, false)"
}
