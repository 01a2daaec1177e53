import Catalog
import Dispatch
import ObjectStore
import SnapfleetCore
import Synchronization

/// One backup as the catalog commands see it: its `backup.info` (nil when it cannot be read, with
/// why), its keep annotation and snapfleet's record (nil for barman-cloud's backups).
struct CatalogBackup: Sendable {
    /// The id.
    let id: BackupID
    /// The parsed `backup.info`, or the error reading it.
    let info: Result<BackupInfo, SnapfleetError>
    /// The keep annotation.
    let keep: KeepTarget?
    /// snapfleet's record, if it has one (a record that cannot be read is left out).
    let report: BackupReport?

    /// The summary retention and WAL clean-up work on; nil when `backup.info` cannot be read.
    var entry: CatalogEntry? {
        guard case .success(let info) = info else { return nil }
        return CatalogEntry(id: id, info: info, keep: keep)
    }
}

/// Reads a server's catalog without ever holding it whole: one paged listing of `base/` finds the
/// backups and their keep annotations, one of `snapfleet/` the records, then `backup.info` files
/// are fetched a chunk at a time, several at once, and handed over in id order.
struct CatalogReader: Sendable {
    let catalog: CatalogStore
    /// How many backups are fetched (in parallel) before the caller sees them.
    var chunkSize = 128

    /// The fetches run here, never on `BlockingPool.shared`: a caller already on that pool would
    /// otherwise wait for jobs of its own pool.
    private static let fetchPool = BlockingPool(maxThreads: 16)

    /// What the listings found: every backup directory with a `backup.info`, in id order.
    struct Index: Sendable {
        /// Ids with a `backup.info`, in order.
        var ids: [BackupID] = []
        /// Ids with a keep annotation.
        var kept: Set<BackupID> = []
        /// What the listing says of each `backup.info` (the cache uses a copy only while it matches).
        var listedInfos: [BackupID: ObjectInfo] = [:]
        /// Each snapfleet record, as listed.
        var records: [BackupID: ObjectInfo] = [:]
        /// Each backup's keys other than `backup.info` (what deleting it removes).
        var files: [BackupID: [String]] = [:]
    }

    /// Lists `base/` (recursively, page by page) and `snapfleet/`; cached copies of objects no
    /// longer there are dropped.
    func index() throws(SnapfleetError) -> Index {
        var index = Index()
        let layout = catalog.layout
        try catalog.store.forEachPage(prefix: layout.basePrefix, delimiter: nil) { page throws(SnapfleetError) -> Bool in
            for object in page.objects {
                switch layout.object(forKey: object.key) {
                case .backupInfo(let id)?:
                    index.ids.append(id)
                    index.listedInfos[id] = object
                case .annotation(let id, name: "keep")?:
                    index.kept.insert(id)
                    index.files[id, default: []].append(object.key)
                case .backupLabel(let id)?, .backupFile(let id, _)?, .annotation(let id, _)?: index.files[id, default: []].append(object.key)
                default: break
                }
            }
            return true
        }
        for (id, object) in try catalog.recordListing() { index.records[id] = object }
        catalog.cache?.retainOnly(index.listedInfos.values.map(\.key) + index.records.values.map(\.key))
        return index
    }

    /// Hands every backup of `index` to `body`, a chunk at a time in id order; `body` returns false to stop.
    func forEachChunk(
        of index: Index, ids: [BackupID]? = nil, readReports: Bool = true, _ body: ([CatalogBackup]) throws(SnapfleetError) -> Bool
    ) throws(SnapfleetError) {
        let wanted = ids ?? index.ids
        var start = 0
        while start < wanted.count {
            let chunk = Array(wanted[start..<min(start + chunkSize, wanted.count)])
            let loaded = fetch(chunk, of: index, readReports: readReports)
            guard try body(loaded) else { return }
            start += chunk.count
        }
    }

    /// What one read of the whole catalog found: every backup's summary, the ids whose
    /// `backup.info` cannot be read (with why), and, for a dry run to report without asking again,
    /// each backup's snapshots and other keys.
    struct Survey: Sendable {
        /// Every readable backup's summary, in id order.
        var entries: [CatalogEntry] = []
        /// Backups whose `backup.info` cannot be read.
        var unreadable: [(BackupID, SnapfleetError)] = []
        /// Each readable backup's `snapshots_info`, if it has one.
        var snapshots: [BackupID: SnapshotsInfo] = [:]
        /// Each backup's keys other than `backup.info`.
        var files: [BackupID: [String]] = [:]
    }

    /// Reads every backup.info (a chunk at a time) and keeps only the survey.
    func survey() throws(SnapfleetError) -> Survey {
        let index = try index()
        var survey = Survey(files: index.files)
        try forEachChunk(of: index, readReports: false) { chunk throws(SnapfleetError) -> Bool in
            for backup in chunk {
                switch backup.info {
                case .success(let info):
                    survey.entries.append(CatalogEntry(id: backup.id, info: info, keep: backup.keep))
                    if let snapshots = info.snapshotsInfo { survey.snapshots[backup.id] = snapshots }
                case .failure(let error): survey.unreadable.append((backup.id, error))
                }
            }
            return true
        }
        return survey
    }

    /// Every backup's summary, and the ids whose `backup.info` cannot be read (with why).
    func entries() throws(SnapfleetError) -> (entries: [CatalogEntry], unreadable: [(BackupID, SnapfleetError)]) {
        let survey = try survey()
        return (survey.entries, survey.unreadable)
    }

    /// Fetches the chunk's files in parallel; the result is in the chunk's order.
    private func fetch(_ ids: [BackupID], of index: Index, readReports: Bool) -> [CatalogBackup] {
        Self.parallelMap(ids) { [catalog] id in Self.load(id, listedIn: index, readReport: readReports, catalog: catalog) }
    }

    /// `work` for each id, several at once on the catalog's own threads; the results in `ids`' order.
    static func parallelMap<T: Sendable>(_ ids: [BackupID], _ work: @escaping @Sendable (BackupID) -> T) -> [T] {
        let results = Mutex([BackupID: T]())
        let group = DispatchGroup()
        for id in ids {
            group.enter()
            fetchPool.submit {
                let result = work(id)
                results.withLock { $0[id] = result }
                group.leave()
            }
        }
        group.wait()
        return results.withLock { done in ids.map { done[$0]! } }
    }

    private static func load(_ id: BackupID, listedIn index: Index, readReport: Bool, catalog: CatalogStore) -> CatalogBackup {
        let info = Result { () throws(SnapfleetError) in try catalog.readInfo(id, listed: index.listedInfos[id]) }
        // A keep annotation that cannot be read is taken as a keep: retention must never delete on a guess.
        var keep: KeepTarget?
        if index.kept.contains(id) {
            do { keep = try catalog.readKeep(id) } catch { keep = .full }
        }
        let report = (readReport ? index.records[id] : nil).flatMap { (try? catalog.readReport(id, listed: $0)) ?? nil }
        return CatalogBackup(id: id, info: info, keep: keep, report: report)
    }
}
