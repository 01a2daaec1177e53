import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// The dedicated PostgreSQL session that holds one non-exclusive backup.
///
/// Not thread-safe: the driver uses it only on its serial queue. Releasing it closes the
/// session, which also makes PostgreSQL abort a backup still running on it.
final class BackupSession {
    /// The backup this session is for.
    let backupID: String
    /// The connection the backup runs on.
    let connection: PostgresConnection
    private let versionNumber: Int
    private let walSegmentSize: Int
    /// `pg_wal` (through `data_directory`), where an archived segment's status file is; nil when
    /// the role may not read the setting (the archiver's statistics are used alone then).
    private let walDirectory: String?

    /// Connects, checks the version and prepares the session for a long-lived backup.
    init(backupID: String, configuration: BackupSessionDriver.Configuration) throws {
        self.backupID = backupID
        connection = try PostgresConnection(
            conninfo: configuration.conninfo, connectTimeout: configuration.connectTimeout,
            applicationName: configuration.applicationName)
        versionNumber = connection.serverVersionNumber
        let version = connection.parameterStatus("server_version") ?? String(versionNumber)
        try ServerFacts.checkSupported(versionNumber: versionNumber, version: version)
        walSegmentSize = try Self.readWALSegmentSize(connection)
        walDirectory = (try? connection.query(BackupStatements.dataDirectory).first?.first ?? nil).map { $0 + "/pg_wal" }
        try prepare()
    }

    /// Calls `pg_backup_start` (blocks for the checkpoint).
    func start(label: String, fastCheckpoint: Bool) throws -> BackupStartInfo {
        let row = try singleRow(
            connection.query(BackupStatements.start(versionNumber: versionNumber), [label, fastCheckpoint ? "true" : "false"]),
            columns: 3, of: "pg_backup_start")
        guard let lsn = row[0].flatMap(LSN.init), let timeline = row[1].flatMap(UInt32.init), let time = row[2] else {
            throw Self.malformed("pg_backup_start")
        }
        let walFileName = WALFileName(timeline: timeline, lsn: lsn, segmentSize: walSegmentSize)
        return BackupStartInfo(lsn: lsn, walFileName: walFileName, timeline: timeline, time: time)
    }

    /// Calls `pg_backup_stop` without waiting, then (when `waitForArchive`) waits for the archiver
    /// to store the segment holding the stop point, as `pg_backup_stop(true)` would but without its
    /// one-second sleeps (see `ArchiveProgress`).
    func stop(waitForArchive: Bool, archiveTimeout: Duration = .seconds(600)) throws -> BackupStopInfo {
        let info = try stopWithoutWaiting()
        if waitForArchive { try waitUntilArchived(info, timeout: archiveTimeout) }
        return info
    }

    private func stopWithoutWaiting() throws -> BackupStopInfo {
        let row = try singleRow(
            connection.query(BackupStatements.stop(versionNumber: versionNumber), ["false"]), columns: 5, of: "pg_backup_stop")
        guard let lsn = row[0].flatMap(LSN.init), let label = row[1], let timeline = row[3].flatMap(UInt32.init),
            let time = row[4]
        else { throw Self.malformed("pg_backup_stop") }
        return BackupStopInfo(
            lsn: lsn, walFileName: WALFileName(timeline: timeline, lsn: lsn, segmentSize: walSegmentSize),
            timeline: timeline, backupLabel: label, tablespaceMap: row[2], time: time)
    }

    /// Polls (5 ms apart at first, backing off to half a second) until the stop segment and the
    /// backup history file are archived, as `pg_backup_stop(true)` waits for both; only when
    /// PostgreSQL itself would wait (archiving active here). `pg_stat_archiver` settles the
    /// common case; the status files settle the rest (see `ArchiveProgress`).
    private func waitUntilArchived(_ stop: BackupStopInfo, timeout: Duration) throws {
        let needed = WALFileName(timeline: stop.timeline, lastByteBefore: stop.lsn, segmentSize: walSegmentSize)
        let history = ArchiveProgress.historyFileName(label: stop.backupLabel, stopTimeline: stop.timeline, segmentSize: walSegmentSize)
        guard try connection.query(BackupStatements.archivingActive).first?.first == "t" else { return }
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(5)
        var segmentArchived = false
        while true {
            let row = try connection.query(BackupStatements.archiverProgress).first ?? []
            let (archived, failed) = (row.first ?? nil, row.count > 1 ? row[1] : nil)
            segmentArchived =
                segmentArchived || ArchiveProgress.covers(lastArchived: archived, needed: needed)
                || walDirectory.flatMap { ArchiveProgress.isArchived(needed, walDirectory: $0) } == true
            let historyArchived =
                history == nil || archived == history
                || (history.flatMap { name in walDirectory.flatMap { ArchiveProgress.isArchived(file: name, walDirectory: $0) } } ?? true)
            if segmentArchived && historyArchived { return }
            guard ContinuousClock.now < deadline else {
                throw SnapfleetError(
                    .timeout,
                    "WAL segment \(needed) was not archived within \(timeout) (last archived: \(archived ?? "none"), last failed: \(failed ?? "none"))",
                    hint: "check archive_command and the PostgreSQL log")
            }
            usleep(UInt32(pause.wholeMilliseconds * 1000))
            pause = min(pause * 2, .milliseconds(500))
        }
    }

    /// Best effort: ends the backup with `pg_backup_stop(false)` under a short statement timeout.
    ///
    /// Errors are ignored: if this fails (no backup in progress, timeout, lost session), closing
    /// the session right after still makes PostgreSQL abort the backup.
    func endBackup(statementTimeout: Duration) {
        guard connection.isAlive else { return }
        let milliseconds = String(max(1, statementTimeout.wholeMilliseconds))
        _ = try? connection.query(BackupStatements.setConfig, ["statement_timeout", milliseconds])
        _ = try? connection.query(BackupStatements.stopWithoutWaiting(versionNumber: versionNumber))
    }

    /// Turns off the timeouts that would end a session that sits idle between start and stop, or a
    /// start waiting for a spread checkpoint; the lease bounds the backup instead.
    private func prepare() throws {
        try connection.query(BackupStatements.setConfig, ["statement_timeout", "0"])
        if versionNumber >= 140_000 {
            try connection.query(BackupStatements.setConfig, ["idle_session_timeout", "0"])
        }
    }

    private static func readWALSegmentSize(_ connection: PostgresConnection) throws -> Int {
        guard let text = try connection.query(BackupStatements.walSegmentSize).first?.first ?? nil,
            let size = Int(text), size > 0, size & (size - 1) == 0
        else { throw malformed("wal_segment_size") }
        return size
    }

    private func singleRow(_ rows: [[String?]], columns: Int, of function: String) throws -> [String?] {
        guard rows.count == 1, rows[0].count == columns else { throw Self.malformed(function) }
        return rows[0]
    }

    private static func malformed(_ what: String) -> SnapfleetError {
        SnapfleetError(.postgresError, "postgresql returned an unexpected result for \(what)")
    }
}
