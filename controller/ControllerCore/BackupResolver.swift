import Catalog
import SnapfleetCore

/// Finds the backup an operator names: an id, a backup name, or `latest` / `oldest` (the
/// newest or oldest DONE backup: snapfleet never restores another) / `last-failed`, ordered by id
/// as barman-cloud orders them.
struct BackupResolver {
    let catalog: CatalogStore

    /// The backup's id and its `backup.info`.
    func resolve(_ reference: String) throws(SnapfleetError) -> (BackupID, BackupInfo) {
        if let id = BackupID(rawValue: reference) { return (id, try read(id)) }
        let infos = try readAll()
        let done = infos.filter { $0.1.status == .done }
        let found: (BackupID, BackupInfo)?
        switch reference {
        case "latest", "last": found = done.last
        case "oldest", "first": found = done.first
        case "last-failed": found = infos.last { $0.1.status == .failed }
        default:
            let named = infos.filter { $0.1.backupName == reference }
            guard named.count <= 1 else {
                throw SnapfleetError(
                    .invalidConfiguration, "several backups are named '\(reference)': \(named.map(\.0.rawValue).joined(separator: ", "))",
                    hint: "give the backup id")
            }
            found = named.first
        }
        guard let found else {
            throw SnapfleetError(
                .notFound, "no backup '\(reference)' in the catalog", hint: "a backup id, a backup name, latest, oldest or last-failed")
        }
        return found
    }

    /// Every backup with its `backup.info`, ordered by id as barman-cloud orders them (the id's text,
    /// which both tools write as a wall-clock time). A backup directory without `backup.info` is not
    /// a backup (barman-cloud skips it too); one whose `backup.info` cannot be read stops the lookup,
    /// naming its key: passing over it could restore an older backup than the operator meant.
    private func readAll() throws(SnapfleetError) -> [(BackupID, BackupInfo)] {
        var infos: [(BackupID, BackupInfo)] = []
        for id in try catalog.backupIDs().sorted() {
            do {
                infos.append((id, try catalog.readInfo(id)))
            } catch  where error.code == .notFound {
                continue
            } catch {
                throw SnapfleetError(
                    error.code, "cannot resolve the backup: \(error.message)", hint: "repair or remove that backup.info, or give a backup id")
            }
        }
        return infos
    }

    private func read(_ id: BackupID) throws(SnapfleetError) -> BackupInfo {
        do { return try catalog.readInfo(id) } catch  where error.code == .notFound {
            throw SnapfleetError(.notFound, "backup \(id) does not exist in the catalog")
        }
    }
}
