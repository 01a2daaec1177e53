/// What an object key of a server's catalog is (see `CatalogLayout.object(forKey:)`).
public enum CatalogObject: Sendable, Hashable {
    /// `base/<id>/backup.info`.
    case backupInfo(BackupID)
    /// `base/<id>/backup_label` (snapshot backups only).
    case backupLabel(BackupID)
    /// `base/<id>/annotations/<name>`; barman's only annotation is `keep`.
    case annotation(BackupID, name: String)
    /// Any other object directly in `base/<id>/`, e.g. an object-store backup's `data.tar.gz`.
    case backupFile(BackupID, name: String)
    /// A WAL-archive object: its uncompressed file and the compression its extension names.
    case wal(WALFile, compression: WALCompression?)
}
