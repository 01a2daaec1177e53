import Catalog
import CloudSnapshots
import SnapfleetCore

/// Deletes backups the way barman-cloud-backup-delete does (spec §7.2), and so that an
/// interruption at any point is finished by the next run: each backup is first marked FAILED with
/// `deletingMarker` (nothing restores or counts it any more), then its snapshots go, then every
/// object under `base/<id>/` but `backup.info`, and snapfleet's record; then, in one pass for all
/// of them, the WAL no remaining backup needs; `backup.info` goes last. A locked snapshot stops
/// the run before that backup is touched (the backups before it are still finished).
struct BackupDeletion: Sendable {
    /// The catalog.
    let catalog: CatalogStore
    /// The server's settings (credentials for the snapshots' provider).
    let config: ServerConfig
    /// Say what would go, change nothing.
    let dryRun: Bool
    /// Where each step is reported, as it happens.
    let say: @Sendable (String) -> Void

    /// The `error` text of a backup being deleted: the next deletion run finishes it.
    static let deletingMarker = "snapfleet is deleting this backup"

    /// Whether `info` is a backup whose deletion was interrupted.
    static func isBeingDeleted(_ info: BackupInfo) -> Bool {
        info.status == .failed && (info.error?.hasPrefix(deletingMarker) ?? false)
    }

    /// Deletes `ids` (in that order) from `entries`, the whole catalog, and then the WAL only they
    /// needed (`skipStandaloneWAL`: barman's rule for a delete by id); returns the catalog without them.
    /// A dry run takes the backups' snapshots and keys from `survey` (the catalog just read) instead of asking again.
    func delete(
        _ ids: [BackupID], from entries: [CatalogEntry], skipStandaloneWAL: Bool, survey: CatalogReader.Survey? = nil
    ) throws(SnapfleetError) -> [CatalogEntry] {
        let prepared = try withLocks(try dryRun && survey != nil ? surveyed(ids, survey!, entries) : prepare(ids))
        var remaining = entries
        var rules: [WALCleanupRule] = []
        var deleted: [BackupID] = []
        var stop: SnapfleetError?
        for backup in prepared {
            do throws(SnapfleetError) {
                guard try deleteSnapshotsAndObjects(backup) else {
                    remaining.removeFirst(backup.id)
                    continue
                }
            } catch {
                stop = error
                break
            }
            if let rule = WALCleanupRule.after(deleting: backup.id, catalog: remaining, skipStandalone: skipStandaloneWAL) {
                // Deleting the oldest backups one after another makes each rule cover the last:
                // keeping only the widest ones makes the WAL pass cost one rule, not thousands.
                if !rules.contains(where: { $0.covers(rule) }) {
                    rules.removeAll { rule.covers($0) }
                    rules.append(rule)
                }
            } else {
                say("no WAL to delete for backup \(backup.id): an older backup still needs it")
            }
            remaining.removeFirst(backup.id)
            deleted.append(backup.id)
        }
        if !rules.isEmpty { try WALCleaner(catalog: catalog, dryRun: dryRun, say: say).clean(rules) }
        for id in deleted {
            if !dryRun { try catalog.store.delete(catalog.layout.backupInfoKey(id)) }
            say(dryRun ? "backup \(id) would be deleted" : "backup \(id) deleted")
        }
        if let stop { throw stop }
        return remaining
    }

    /// A backup about to be deleted: its `backup.info` (nil in a dry run from a survey), whether
    /// it exists, its snapshots, its other objects, and the snapshots locked now.
    private struct Prepared: Sendable {
        let id: BackupID
        let exists: Bool
        var info: BackupInfo?
        var snapshots: SnapshotsInfo?
        let keys: [String]
        var locked: Set<String> = []
    }

    /// Reads every backup.info and lists every backup directory, several at once.
    private func prepare(_ ids: [BackupID]) throws(SnapfleetError) -> [Prepared] {
        let catalog = self.catalog
        return try CatalogReader.parallelMap(ids) { id in
            Result { () throws(SnapfleetError) -> Prepared in
                var info: BackupInfo?
                do throws(SnapfleetError) { info = try catalog.readInfo(id) } catch {
                    guard error.code == .notFound else { throw error }
                }
                var keys: [String] = []
                try catalog.store.forEachPage(prefix: catalog.layout.backupPrefix(id), delimiter: nil) { page throws(SnapfleetError) -> Bool in
                    keys += page.keys.filter { $0 != catalog.layout.backupInfoKey(id) }
                    return true
                }
                return Prepared(id: id, exists: info != nil, info: info, snapshots: info?.snapshotsInfo, keys: keys)
            }
        }.map { result throws(SnapfleetError) in try result.get() }
    }

    /// What a dry run needs, from the catalog read just before.
    private func surveyed(_ ids: [BackupID], _ survey: CatalogReader.Survey, _ entries: [CatalogEntry]) -> [Prepared] {
        let known = Set(entries.map(\.id))
        return ids.map { Prepared(id: $0, exists: known.contains($0), snapshots: survey.snapshots[$0], keys: survey.files[$0] ?? []) }
    }

    /// Asks each provider once per 200 snapshots which are locked: a run over thousands of backups
    /// makes no lock request per backup.
    private func withLocks(_ prepared: [Prepared]) throws(SnapfleetError) -> [Prepared] {
        var byProvider: [String: (SnapshotsInfo, [String])] = [:]
        for backup in prepared {
            guard let recorded = backup.snapshots else { continue }
            byProvider[Self.providerKey(recorded), default: (recorded, [])].1 += recorded.snapshotIdentifiers.compactMap { $0 }
        }
        var locked: Set<String> = []
        for (recorded, snapshotIDs) in byProvider.values where !snapshotIDs.isEmpty {
            let provider = try ProviderFactory.provider(for: config, recorded: recorded)
            for start in stride(from: 0, to: snapshotIDs.count, by: 200) {
                locked.formUnion(try provider.lockedSnapshots(Array(snapshotIDs[start..<min(start + 200, snapshotIDs.count)])))
            }
        }
        return prepared.map { backup in
            var withLocks = backup
            withLocks.locked = locked
            return withLocks
        }
    }

    /// Backups whose snapshots one provider object can handle share this key.
    private static func providerKey(_ recorded: SnapshotsInfo) -> String {
        if case .aws(let aws) = recorded { return "aws/\(aws.region ?? "")" }
        return recorded.provider.rawValue
    }

    /// Everything of the backup but `backup.info`; false when there is no such backup.
    private func deleteSnapshotsAndObjects(_ backup: Prepared) throws(SnapfleetError) -> Bool {
        guard backup.exists else {
            say("backup \(backup.id) does not exist")
            return false
        }
        try deleteSnapshots(backup)
        try deleteObjects(backup.keys, of: backup.id)
        return true
    }

    /// Refuses locked snapshots, marks the backup as being deleted, and deletes its snapshots in recorded order.
    private func deleteSnapshots(_ backup: Prepared) throws(SnapfleetError) {
        guard let recorded = backup.snapshots else { return }
        let (id, ids) = (backup.id, recorded.snapshotIdentifiers.compactMap { $0 })
        guard !ids.isEmpty else { return }
        if let first = ids.first(where: backup.locked.contains) {
            throw SnapfleetError(
                .refused, "Locked snapshot: \(first). Backup \(id) was not deleted, nor any of its snapshots and objects.",
                hint: "Before deleting a snapshot, please ensure that it is not locked or that the lock has expired.")
        }
        if dryRun {
            ids.forEach { say("would delete snapshot \($0) of backup \(id)") }
            return
        }
        if let info = backup.info, !Self.isBeingDeleted(info) {
            var marked = info
            marked.status = .failed
            marked.error = "\(Self.deletingMarker) (its snapshots first); the next delete-backup run finishes an interrupted deletion"
            try catalog.write(marked, id: id)
        }
        let provider = try ProviderFactory.provider(for: config, recorded: recorded)
        for snapshotID in ids {
            try provider.deleteSnapshot(SnapshotInfo(id: snapshotID, name: "", diskID: "", state: .completed))
            say("deleted snapshot \(snapshotID) of backup \(id)")
        }
    }

    /// The backup's objects but `backup.info` (listed by `prepare`), and the record.
    private func deleteObjects(_ keys: [String], of id: BackupID) throws(SnapfleetError) {
        if dryRun {
            (keys + [catalog.layout.backupInfoKey(id)]).forEach { say("would delete \($0)") }
            return
        }
        for key in keys { try catalog.store.delete(key) }
        try catalog.deleteReport(id)
    }
}

/// Deletes the WAL that any of several `WALCleanupRule`s lets go (one pass for a whole policy run), one hash directory at a time: a whole directory
/// when the rule allows (listed page by page and deleted a thousand keys a request), otherwise
/// file by file. Never holds more than one page of keys.
struct WALCleaner: Sendable {
    /// The catalog.
    let catalog: CatalogStore
    /// Say what would go, change nothing.
    let dryRun: Bool
    /// Where each step is reported.
    let say: @Sendable (String) -> Void

    /// Applies `rules`; WAL that cannot be deleted is an error naming the keys (after every batch was tried).
    func clean(_ rules: [WALCleanupRule]) throws(SnapfleetError) {
        let walsPrefix = catalog.layout.walsPrefix
        var batch = Batch(cleaner: self)
        try catalog.store.forEachPage(prefix: walsPrefix, delimiter: "/") { page throws(SnapfleetError) -> Bool in
            for directory in page.commonPrefixes {
                let hash = String(directory.dropFirst(walsPrefix.count).dropLast())
                let whole = rules.contains { $0.removesDirectory(hash) }
                if whole && dryRun { say("would delete every object under \(directory)") }
                try catalog.store.forEachPage(prefix: directory, delimiter: nil) { objects throws(SnapfleetError) -> Bool in
                    for key in objects.keys where whole || removes(key, rules) { try batch.add(key, quietly: whole) }
                    return true
                }
            }
            for key in page.keys where removes(key, rules) { try batch.add(key, quietly: false) }
            return true
        }
        try batch.flush()
        if !dryRun { say("deleted \(batch.deleted) WAL object(s) older than \(rules.map(\.removeUntil).max() ?? "")") }
        guard batch.failures.isEmpty else {
            throw SnapfleetError(
                .ioError,
                "could not delete \(batch.failures.count) WAL object(s): "
                    + batch.failures.prefix(5).map { "\($0.key) (\($0.reason))" }.joined(separator: ", "),
                hint: "run delete-backup with --retention-policy again to retry them")
        }
    }

    private func removes(_ key: String, _ rules: [WALCleanupRule]) -> Bool {
        guard case .wal(let file, _)? = catalog.layout.object(forKey: key) else { return false }
        return rules.contains { $0.removes(file) }
    }

    /// Keys waiting to be deleted in one request.
    private struct Batch {
        let cleaner: WALCleaner
        var keys: [String] = []
        var deleted = 0
        var failures: [(key: String, reason: String)] = []

        mutating func add(_ key: String, quietly: Bool) throws(SnapfleetError) {
            if cleaner.dryRun {
                if !quietly { cleaner.say("would delete \(key)") }
                return
            }
            keys.append(key)
            if keys.count == 1000 { try flush() }
        }

        mutating func flush() throws(SnapfleetError) {
            guard !keys.isEmpty else { return }
            let failed = try cleaner.catalog.store.delete(keys: keys)
            deleted += keys.count - failed.count
            failures += failed
            keys.removeAll(keepingCapacity: true)
        }
    }
}

extension [CatalogEntry] {
    /// Removes the entry of `id`, if any, moving the rest without copying them.
    fileprivate mutating func removeFirst(_ id: BackupID) {
        if let index = firstIndex(where: { $0.id == id }) { remove(at: index) }
    }
}
