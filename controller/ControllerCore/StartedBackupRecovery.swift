import Catalog
import CloudSnapshots
import Foundation
import Logging
import SnapfleetCore
import SnapfleetProtocol

/// Finishes what a stopped controller left behind: every backup of one server whose `backup.info`
/// still says STARTED and whose snapfleet record (`ROOT/snapfleet/<id>.json`) marks it as snapfleet's gets its snapshots
/// (those of the server's disks found by their `snapfleet_backup_id` tag) deleted, its agent session ended, and FAILED recorded.
struct StartedBackupRecovery: Sendable {
    let server: String
    let config: ServerConfig
    let askAgent: @Sendable (Message) async throws(SnapfleetError) -> Message
    let logger: Logger

    /// What happened to one abandoned backup.
    struct Outcome: Sendable, Equatable {
        /// The backup id.
        var backupID: String
        /// Snapshots deleted.
        var deleted: [String]
        /// Snapshots that could not be deleted (locked, or the provider failed), named in the record.
        var kept: [String]
    }

    /// Cleans up every abandoned backup of the server; problems are logged, never thrown.
    func run() async -> [Outcome] {
        let found = await BlockingPool.shared.run { Result { () throws(SnapfleetError) in try self.abandoned() } }
        guard case .success(let (catalog, provider, disks, ids)) = found else {
            if case .failure(let error) = found {
                logger.error("cannot look for abandoned backups", metadata: ["server": "\(server)", "error": "\(error)"])
            }
            return []
        }
        var outcomes: [Outcome] = []
        for id in ids {
            // The agent's lease ends the session anyway; asking is faster when it is connected.
            _ = try? await askAgent(.backupAbort(BackupReference(backupID: id.rawValue)))
            let result = await BlockingPool.shared.run {
                Result { () throws(SnapfleetError) in try self.finish(id, catalog: catalog, provider: provider, disks: disks) }
            }
            switch result {
            case .success(let outcome):
                outcomes.append(outcome)
                logger.warning(
                    "abandoned backup cleaned up",
                    metadata: [
                        "server": "\(server)", "backup.id": "\(id)", "snapshots.deleted": "\(outcome.deleted.joined(separator: ","))",
                        "snapshots.kept": "\(outcome.kept.joined(separator: ","))",
                    ])
            case .failure(let error):
                logger.error("abandoned backup not cleaned up", metadata: ["server": "\(server)", "backup.id": "\(id)", "error": "\(error)"])
            }
        }
        return outcomes
    }

    /// The catalog, the provider, the server's disks, and the ids of its abandoned backups.
    private func abandoned() throws(SnapfleetError) -> (CatalogStore, any CloudSnapshots.SnapshotProvider, [DiskInfo], [BackupID]) {
        let catalog = try CatalogStore.open(server: server, config: config)
        let provider = try ProviderFactory.provider(for: config)
        var ids: [BackupID] = []
        let legacy = try catalog.backupIDs()  // records of snapfleet 0.x sit beside backup.info
        for id in Set(try catalog.recordIDs() + legacy).sorted() where try catalog.readReport(id)?.status == BackupRecordKind.started.rawValue {
            if try catalog.readInfo(id).status == .started { ids.append(id) }
        }
        return (catalog, provider, ids.isEmpty ? [] : try serverDisks(provider), ids)
    }

    /// The disks the server's backups snapshot, as the provider finds them now. Servers backed up in
    /// the same second share a backup id: only snapshots of these disks are this server's.
    private func serverDisks(_ provider: any CloudSnapshots.SnapshotProvider) throws(SnapfleetError) -> [DiskInfo] {
        guard let instance = config.snapshotInstance else { return [] }
        return try provider.disks(config.snapshotDisks, attachedTo: try provider.instance(instance))
    }

    /// Deletes the backup's snapshots, then records FAILED in `backup.info` and snapfleet's record.
    private func finish(_ id: BackupID, catalog: CatalogStore, provider: any CloudSnapshots.SnapshotProvider, disks: [DiskInfo])
        throws(SnapfleetError)
        -> Outcome
    {
        var outcome = Outcome(backupID: id.rawValue, deleted: [], kept: [])
        var problems: [String] = []
        for snapshot in try provider.snapshots(ofBackup: id.rawValue, disks: disks) {
            do {
                try provider.deleteSnapshot(snapshot)
                outcome.deleted.append(snapshot.id)
            } catch {
                outcome.kept.append(snapshot.id)
                problems.append("snapshot \(snapshot.id) could not be deleted: \(error.description)")
            }
        }
        let failure = BackupFailure(
            step: .controller, cause: "the controller stopped during the backup; \(outcome.deleted.count) snapshot(s) deleted when it restarted")
        var info = try catalog.readInfo(id)
        info.status = .failed
        info.error = BackupRecord.errorText(failure, notDeleted: outcome.kept)
        try catalog.write(info, id: id)
        if var report = try catalog.readReport(id) {
            report.status = BackupRecordKind.failed.rawValue
            report.finishedAt = Timestamp.rfc3339(Date())
            report.failure = "\(failure.step.rawValue): \(failure.cause)"
            report.snapshots = outcome.kept.map { BackupReport.Snapshot(disk: "", id: $0) }
            report.problems = problems
            try catalog.writeReport(report.json, id: id)
        }
        return outcome
    }

}
