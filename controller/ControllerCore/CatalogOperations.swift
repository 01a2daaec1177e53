import Catalog
import Foundation
import SnapfleetCore

/// The catalog commands of one server (`list-backups`, `show-backup`, `keep`, `delete-backup`)
/// and the retention run after each backup: barman-cloud's rules (spec §2.3, §7, §8), on
/// catalogs snapfleet wrote and on catalogs barman-cloud wrote. Blocking: call off any event loop.
public struct CatalogOperations: Sendable {
    /// The server.
    public let server: String
    let config: ServerConfig
    let catalog: CatalogStore

    /// Opens the server's catalog.
    public init(server: String, config: ControllerConfig) throws(SnapfleetError) {
        guard let settings = config.servers[server] else {
            throw SnapfleetError(
                .unknownServer, "no server '\(server)' in the configuration", hint: "one of: \(config.servers.keys.sorted().joined(separator: ", "))")
        }
        let catalog = try CatalogStore.open(server: server, config: settings, cacheRoot: config.resolvedCacheDirectory())
        self.init(server: server, settings: settings, catalog: catalog)
    }

    init(server: String, settings: ServerConfig, catalog: CatalogStore) {
        self.server = server
        self.config = settings
        self.catalog = catalog
    }

    // MARK: - list and show

    /// The header line of the text listing.
    public static func listHeader(withServer: Bool) -> String { CatalogOutput.listHeader(withServer: withServer) }

    /// Writes the server's backups, oldest first, a chunk at a time: text rows for DONE backups
    /// (barman's columns and the window), or with `json` each backup's object (every status).
    public func listBackups(json: Bool, showServer: Bool, write: (String) -> Void) throws(SnapfleetError) {
        let reader = CatalogReader(catalog: catalog)
        var first = true
        try reader.forEachChunk(of: try reader.index()) { chunk throws(SnapfleetError) -> Bool in
            for backup in chunk {
                guard case .success(let info) = backup.info else {
                    if case .failure(let error) = backup.info { FileHandle.standardError.write(Data("warning: \(error.message)\n".utf8)) }
                    continue
                }
                if json {
                    write((first ? "" : ", ") + CatalogOutput.text(CatalogOutput.json(backup, info: info)))
                    first = false
                } else if info.status == .done {
                    write(CatalogOutput.listLine(backup, info: info, server: showServer ? server : nil))
                }
            }
            return true
        }
    }

    /// `show-backup`: barman's text or `{"<server_name>": {…}}`.
    public func showBackup(_ reference: String, json: Bool) throws(SnapfleetError) -> String {
        let (backup, info) = try find(reference)
        if json {
            return CatalogOutput.text(.object([info.serverName ?? server: CatalogOutput.json(backup, info: info)]))
        }
        return CatalogOutput.show(backup, info: info)
    }

    // MARK: - keep

    /// What `keep` does.
    public enum KeepAction: Sendable {
        /// Add (or change) the annotation; the backup must be DONE.
        case add(KeepTarget)
        /// Print it.
        case status
        /// Remove it (idempotent).
        case release
    }

    /// `keep`: the line to print.
    public func keep(_ reference: String, _ action: KeepAction) throws(SnapfleetError) -> String {
        let id = try BackupResolver(catalog: catalog, shortcutsOnlyDone: false).resolveID(reference, in: try entriesForResolving(reference))
        switch action {
        case .status:
            return "Keep: \(try catalog.readKeep(id)?.rawValue ?? "nokeep")"
        case .release:
            try catalog.deleteKeep(id)
            return "Keep released for backup \(id)"
        case .add(let target):
            let info: BackupInfo
            do { info = try catalog.readInfo(id) } catch  where error.code == .notFound {
                throw SnapfleetError(.notFound, "Backup \(id) for server \(server) does not exist")
            }
            guard info.status == .done else {
                throw SnapfleetError(
                    .refused,
                    "Cannot add keep to backup \(id) because it has status \(info.status.rawValue). Only backups with status DONE can be kept.")
            }
            try catalog.writeKeep(target, id: id)
            return "Keep: \(target.rawValue) for backup \(id)"
        }
    }

    // MARK: - delete and retention

    /// `delete-backup SERVER BACKUP`: refused for a kept backup and under the minimum redundancy;
    /// barman's WAL rule for a delete by id (WAL a standalone-kept older backup leads to stays).
    public func deleteBackup(_ reference: String, minimumRedundancy: Int, dryRun: Bool, say: @escaping @Sendable (String) -> Void)
        throws(SnapfleetError)
    {
        var entries = try wholeCatalog()
        let id = try BackupResolver(catalog: catalog, shortcutsOnlyDone: false).resolveID(reference, in: entries)
        let kept = try catalog.readKeep(id)
        if kept != nil {
            throw SnapfleetError(
                .refused,
                "Skipping delete of backup \(id) for server \(server) as it has a current keep request. "
                    + "If you really want to delete this backup please remove the keep and try again.")
        }
        if minimumRedundancy > 0, minimumRedundancy >= entries.count {
            throw SnapfleetError(
                .refused,
                "Skipping delete of backup \(id) for server \(server) due to minimum redundancy requirements "
                    + "(minimum redundancy = \(minimumRedundancy), current redundancy = \(entries.count))")
        }
        entries = try finishInterruptedDeletions(entries, dryRun: dryRun, say: say)
        _ = try deletion(dryRun: dryRun, say: say).delete([id], from: entries, skipStandaloneWAL: true)
        try removeOrphanRecords(entries: entries.filter { $0.id != id }, dryRun: dryRun, say: say)
    }

    /// Applies `policy` (the server's `retention_policy` when nil): finishes interrupted
    /// deletions, then deletes every OBSOLETE backup, oldest first, and the WAL only they needed.
    /// Returns the ids deleted (or, dry, that would be).
    @discardableResult
    public func applyRetention(
        policy explicit: RetentionPolicy? = nil, minimumRedundancy: Int? = nil, dryRun: Bool, now: Date = Date(),
        say: @escaping @Sendable (String) -> Void
    ) throws(SnapfleetError) -> [BackupID] {
        let configured = try config.parsedRetentionPolicy()
        guard let policy = explicit ?? configured else {
            throw SnapfleetError(.invalidConfiguration, "server '\(server)' has no retention_policy", hint: "set one, or pass --retention-policy")
        }
        let minimum = minimumRedundancy ?? config.minimumRedundancy
        if let warning = policy.redundancyWarning(minimumRedundancy: minimum) { say("warning: \(warning)") }
        let survey = try readableSurvey()
        let entries = try finishInterruptedDeletions(survey.entries, dryRun: dryRun, say: say)
        let statuses = policy.statuses(of: entries, minimumRedundancy: minimum, now: now)
        let obsolete = entries.filter { statuses[$0.id] == .obsolete }.map(\.id).sorted()
        if obsolete.isEmpty { say("no backup of \(server) is obsolete under \(policy)") }
        let remaining = try deletion(dryRun: dryRun, say: say).delete(obsolete, from: entries, skipStandaloneWAL: false, survey: survey)
        try removeOrphanRecords(entries: remaining, dryRun: dryRun, say: say)
        return obsolete
    }

    /// Every backup's summary; an unreadable `backup.info` anywhere stops the run before anything is deleted.
    private func wholeCatalog() throws(SnapfleetError) -> [CatalogEntry] { try readableSurvey().entries }

    /// The whole catalog read once; an unreadable `backup.info` anywhere stops the run.
    private func readableSurvey() throws(SnapfleetError) -> CatalogReader.Survey {
        let survey = try CatalogReader(catalog: catalog).survey()
        let unreadable = survey.unreadable
        guard unreadable.isEmpty else {
            throw SnapfleetError(
                .invalidBody,
                "Cannot read the following backups: [\(unreadable.map { "'\($0.0)'" }.joined(separator: ", "))]. "
                    + "Unsafe to proceed with deletion due to failure reading backup catalog (\(unreadable[0].1.message))",
                hint: "repair or remove those backup.info files")
        }
        return survey
    }

    /// Finishes every deletion a stopped run left half done (marked FAILED by `BackupDeletion`).
    private func finishInterruptedDeletions(
        _ entries: [CatalogEntry], dryRun: Bool, say: @escaping @Sendable (String) -> Void
    ) throws(SnapfleetError) -> [CatalogEntry] {
        var interrupted: [BackupID] = []
        for entry in entries where entry.status == .failed {
            if BackupDeletion.isBeingDeleted(try catalog.readInfo(entry.id)) { interrupted.append(entry.id) }
        }
        guard !interrupted.isEmpty else { return entries }
        say("finishing the interrupted deletion of \(interrupted.map(\.rawValue).joined(separator: ", "))")
        return try deletion(dryRun: dryRun, say: say).delete(interrupted, from: entries, skipStandaloneWAL: true)
    }

    /// Removes snapfleet records whose backup is gone (barman-cloud-backup-delete leaves them);
    /// a STARTED record belongs to a backup still being taken, or to the restart recovery.
    private func removeOrphanRecords(entries: [CatalogEntry], dryRun: Bool, say: @Sendable (String) -> Void) throws(SnapfleetError) {
        let known = Set(entries.map(\.id))
        for id in try catalog.recordIDs() where !known.contains(id) {
            guard try catalog.store.head(catalog.layout.backupInfoKey(id)) == nil,
                (try? catalog.readReport(id))??.status != BackupRecordKind.started.rawValue
            else { continue }
            if dryRun {
                say("would delete \(catalog.reportKey(id)) (its backup is gone)")
            } else {
                try catalog.deleteReport(id)
                say("deleted \(catalog.reportKey(id)): its backup was deleted by another tool")
            }
        }
    }

    private func deletion(dryRun: Bool, say: @escaping @Sendable (String) -> Void) -> BackupDeletion {
        BackupDeletion(catalog: catalog, config: config, dryRun: dryRun, say: say)
    }

    /// The entries needed to resolve `reference`: none for an id; for `latest`/`oldest` (any
    /// status, as barman-cloud resolves them) the listing alone, no backup.info read.
    private func entriesForResolving(_ reference: String) throws(SnapfleetError) -> [CatalogEntry] {
        if BackupID(rawValue: reference) != nil { return [] }
        if ["latest", "last", "oldest", "first"].contains(reference) {
            return try CatalogReader(catalog: catalog).index().ids.map { CatalogEntry(id: $0, status: .empty) }
        }
        return try BackupResolver(catalog: catalog, shortcutsOnlyDone: false).readAll()
    }

    /// The backup `reference` names, with everything `show-backup` prints.
    private func find(_ reference: String) throws(SnapfleetError) -> (CatalogBackup, BackupInfo) {
        let id = try BackupResolver(catalog: catalog, shortcutsOnlyDone: false).resolveID(reference, in: try entriesForResolving(reference))
        let info: BackupInfo
        do { info = try catalog.readInfo(id) } catch  where error.code == .notFound {
            throw SnapfleetError(.notFound, "Backup \(id) for server \(server) does not exist")
        }
        let keep = try catalog.readKeep(id)
        let report = try? catalog.readReport(id)
        return (CatalogBackup(id: id, info: .success(info), keep: keep, report: report ?? nil), info)
    }
}
