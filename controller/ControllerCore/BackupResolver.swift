import Catalog
import SnapfleetCore

/// Finds the backup an operator names: an id, a backup name, or `latest` / `oldest` (the
/// newest or oldest DONE backup) / `last-failed`, as barman-cloud resolves them.
struct BackupResolver {
    let catalog: CatalogStore

    /// The backup's id and its `backup.info`.
    func resolve(_ reference: String) throws(SnapfleetError) -> (BackupID, BackupInfo) {
        if let id = BackupID(rawValue: reference) { return (id, try read(id)) }
        let all = try catalog.backupIDs().sorted { $0.rawValue < $1.rawValue }
        var infos: [(BackupID, BackupInfo)] = []
        for id in all { if let info = try? catalog.readInfo(id) { infos.append((id, info)) } }
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

    private func read(_ id: BackupID) throws(SnapfleetError) -> BackupInfo {
        do { return try catalog.readInfo(id) } catch  where error.code == .notFound {
            throw SnapfleetError(.notFound, "backup \(id) does not exist in the catalog")
        }
    }
}
