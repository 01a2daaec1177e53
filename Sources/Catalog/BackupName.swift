/// Validation of backup names (`-n/--name`), with barman's `check_backup_name` messages (spec §2.3).
public enum BackupName {
    /// Words that resolve to a backup by position or status and therefore cannot name one.
    public static let reservedWords: Set<String> = [
        "latest", "last", "oldest", "first", "last-failed", "latest-full", "last-full", "auto",
    ]

    /// Throws `invalid_body` unless `name` may name a backup.
    ///
    /// The first three checks and their messages are barman's, in its order. The last is
    /// snapfleet's: a line break would corrupt `backup.info`, and surrounding white space would be
    /// stripped when the file is read, so the name would not survive the round trip.
    public static func validate(_ name: String) throws {
        if name.isEmpty { throw CatalogErrors.invalid("Backup name cannot be empty") }
        if BackupID(rawValue: name) != nil { throw CatalogErrors.invalid("Backup name '\(name)' is not allowed: backup ID") }
        if reservedWords.contains(name) { throw CatalogErrors.invalid("Backup name '\(name)' is not allowed: reserved word") }
        if BackupInfo.strip(Substring(name)) != Substring(name) || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw CatalogErrors.invalid(
                "Backup name '\(CatalogErrors.preview(name))' is not allowed: control characters or surrounding white space")
        }
    }
}
