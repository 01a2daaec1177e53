import Catalog
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// What the controller knows of each server's backups, for `status`: read from the catalogs when
/// it starts, then kept up to date by every backup it runs (so `status` never lists a catalog).
final class FleetHistory: Sendable {
    /// One server's history.
    struct Record: Sendable, Equatable {
        /// The newest backup, whatever its status.
        var lastBackup: BackupSummary?
        /// The newest DONE backup.
        var lastGood: BackupSummary?
        /// The last attempt that failed before making a backup, and when.
        var lastAttemptError: String?
        var lastAttemptAt: Date?
        /// The newest slot missed while the controller was down.
        var missedSlot: Date?
        /// How the last retention run went.
        var retention: String?
        /// Why the catalog could not be read at start, if it could not.
        var catalogError: String?
        /// Whether the catalog has been read yet.
        var loaded = false
    }

    private let records = Mutex<[String: Record]>([:])

    /// An empty history.
    init() {}

    /// The server's record (empty when nothing is known).
    func record(of server: String) -> Record { records.withLock { $0[server] ?? Record() } }

    /// Changes the server's record.
    func update(_ server: String, _ change: (inout Record) -> Void) {
        records.withLock { change(&$0[server, default: Record()]) }
    }

    /// Puts in what the catalog read at start found, keeping what backups run meanwhile recorded.
    func merge(loaded: Record, into server: String) {
        update(server) { live in
            var merged = loaded
            if let backup = live.lastBackup, backup.backupID >= loaded.lastBackup?.backupID ?? "" { merged.lastBackup = backup }
            if let good = live.lastGood, good.backupID >= loaded.lastGood?.backupID ?? "" { merged.lastGood = good }
            merged.lastAttemptError = live.lastAttemptError
            merged.lastAttemptAt = live.lastAttemptAt
            merged.missedSlot = live.missedSlot
            merged.retention = live.retention
            live = merged
        }
    }

    /// A backup this controller ran ended (DONE or FAILED).
    func finished(_ outcome: BackupRunOutcome, started: Date, finished: Date) {
        let summary = BackupSummary(
            backupID: outcome.backupID, status: outcome.status, startedAt: Timestamp.rfc3339(started), finishedAt: Timestamp.rfc3339(finished),
            backupWindowMs: outcome.backupWindowMs, error: outcome.error)
        update(outcome.server) { record in
            record.lastBackup = summary
            if outcome.status == BackupStatus.done.rawValue { record.lastGood = summary }
            record.lastAttemptError = nil
            record.lastAttemptAt = nil
        }
    }

    /// An attempt failed before it made a backup.
    func attemptFailed(_ server: String, _ error: SnapfleetError, at date: Date) {
        update(server) { record in
            record.lastAttemptError = error.message
            record.lastAttemptAt = date
        }
    }
}

/// Reads a server's newest backups from its catalog: one listing, then `backup.info` files newest
/// first until a DONE one (at most `maxReads`, so a long run of failures costs little).
struct FleetHistoryLoader: Sendable {
    let server: String
    let config: ServerConfig
    let cacheRoot: String?
    var maxReads = 64

    /// The record; a catalog that cannot be read gives a record that says why.
    func load() -> FleetHistory.Record {
        var record = FleetHistory.Record()
        record.loaded = true
        do {
            let catalog = try CatalogStore.open(server: server, config: config, cacheRoot: cacheRoot)
            let reader = CatalogReader(catalog: catalog, chunkSize: 8)
            let index = try reader.index()
            let newest = Array(index.ids.reversed().prefix(maxReads))
            try reader.forEachChunk(of: index, ids: newest) { chunk throws(SnapfleetError) -> Bool in
                for backup in chunk {
                    guard case .success(let info) = backup.info else { continue }
                    let summary = Self.summary(backup, info)
                    if record.lastBackup == nil { record.lastBackup = summary }
                    if info.status == .done {
                        record.lastGood = summary
                        return false
                    }
                }
                return true
            }
        } catch {
            record.catalogError = error.message
        }
        return record
    }

    private static func summary(_ backup: CatalogBackup, _ info: BackupInfo) -> BackupSummary {
        BackupSummary(
            backupID: backup.id.rawValue, status: info.status.rawValue, startedAt: info.beginTime.map { Timestamp.rfc3339($0.date()) },
            finishedAt: info.endTime.map { Timestamp.rfc3339($0.date()) }, backupWindowMs: backup.report?.backupWindowMs, error: info.error)
    }
}
