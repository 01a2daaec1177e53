import Catalog
import SnapfleetCore

/// Finds the backup an operator names: an id, a backup name, or `latest`/`last`,
/// `oldest`/`first` and `last-failed`, ordered by id as barman-cloud orders them.
///
/// For `restore`, `latest` and `oldest` mean the newest and oldest DONE backup (snapfleet never
/// restores another); for the catalog commands they mean the newest and oldest of any status, as
/// barman-cloud's `parse_backup_id` resolves them.
struct BackupResolver {
    let catalog: CatalogStore
    /// Whether `latest`/`oldest` pass over backups that are not DONE.
    var shortcutsOnlyDone = true

    /// The backup's id and its `backup.info`.
    func resolve(_ reference: String) throws(SnapfleetError) -> (BackupID, BackupInfo) {
        if let id = BackupID(rawValue: reference) { return (id, try read(id)) }
        let id = try resolveID(reference, in: try readAll())
        return (id, try read(id))
    }

    /// The id `reference` stands for in `entries` (an id stands for itself, existing or not).
    func resolveID(_ reference: String, in entries: [CatalogEntry]) throws(SnapfleetError) -> BackupID {
        if let id = BackupID(rawValue: reference) { return id }
        let ordered = entries.sorted { $0.id < $1.id }
        let candidates = shortcutsOnlyDone ? ordered.filter { $0.status == .done } : ordered
        let found: CatalogEntry?
        switch reference {
        case "latest", "last": found = candidates.last
        case "oldest", "first": found = candidates.first
        case "last-failed": found = ordered.last { $0.status == .failed }
        default:
            let named = ordered.filter { $0.name == reference }
            guard named.count <= 1 else {
                throw SnapfleetError(
                    .invalidConfiguration, "several backups are named '\(reference)': \(named.map(\.id.rawValue).joined(separator: ", "))",
                    hint: "give the backup id")
            }
            found = named.first
        }
        guard let found else {
            throw SnapfleetError(
                .notFound, "no backup '\(reference)' in the catalog", hint: "a backup id, a backup name, latest, oldest or last-failed")
        }
        return found.id
    }

    /// Every backup's summary. A backup directory without `backup.info` is not a backup
    /// (barman-cloud skips it too); one whose `backup.info` cannot be read stops the lookup, naming
    /// its key: passing over it could pick an older backup than the operator meant.
    func readAll() throws(SnapfleetError) -> [CatalogEntry] {
        let (entries, unreadable) = try CatalogReader(catalog: catalog).entries()
        if let (_, error) = unreadable.first {
            throw SnapfleetError(
                error.code, "cannot resolve the backup: \(error.message)", hint: "repair or remove that backup.info, or give a backup id")
        }
        return entries
    }

    private func read(_ id: BackupID) throws(SnapfleetError) -> BackupInfo {
        do { return try catalog.readInfo(id) } catch  where error.code == .notFound {
            throw SnapfleetError(.notFound, "backup \(id) does not exist in the catalog")
        }
    }
}
