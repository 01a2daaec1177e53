import SnapfleetCore

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

    /// Calls `pg_backup_stop` (blocks for archiving when `waitForArchive`).
    func stop(waitForArchive: Bool) throws -> BackupStopInfo {
        let row = try singleRow(
            connection.query(BackupStatements.stop(versionNumber: versionNumber), [waitForArchive ? "true" : "false"]),
            columns: 5, of: "pg_backup_stop")
        guard let lsn = row[0].flatMap(LSN.init), let label = row[1], let timeline = row[3].flatMap(UInt32.init),
            let time = row[4]
        else { throw Self.malformed("pg_backup_stop") }
        return BackupStopInfo(
            lsn: lsn, walFileName: WALFileName(timeline: timeline, lsn: lsn, segmentSize: walSegmentSize),
            timeline: timeline, backupLabel: label, tablespaceMap: row[2], time: time)
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
