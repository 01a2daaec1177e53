extension BackupInfo {
    /// The file exactly as barman's `BackupInfo.save()` writes it: every key sorted by name, one
    /// `key=value\n` line each, `None` for nil, `backup_name` and `snapshots_info` omitted when nil.
    ///
    /// Throws `invalid_body` for a value that cannot be stored on one line, or an additional key
    /// that clashes with a declared one or could not be read back.
    public func encoded() throws -> String {
        var lines: [(key: String, value: String)] = []
        for field in BackupInfoField.all {
            let value = field.encode(self)
            if value == nil && field.hideIfNil { continue }
            lines.append((field.name, value ?? "None"))
        }
        let declared = Set(lines.map(\.key))
        for (key, value) in additionalFields {
            try Self.checkAdditionalKey(key, declared: declared)
            lines.append((key, value))
        }
        // Python sorts str by code point, which is the order of their UTF-8 bytes.
        lines.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var text = ""
        for line in lines {
            try Self.checkValue(line.value, key: line.key)
            text += line.key + "=" + line.value + "\n"
        }
        return text
    }

    /// A line break would end the line early and corrupt the file (Python's reader splits at `\r` too).
    static func checkValue(_ value: String, key: String) throws {
        if value.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw CatalogErrors.invalid("backup.info field '\(key)' cannot be written: its value contains a line break")
        }
    }

    static func checkAdditionalKey(_ key: String, declared: Set<String>) throws {
        if declared.contains(key) {
            throw CatalogErrors.invalid("backup.info additional field '\(key)' clashes with a declared field")
        }
        let unreadable =
            key.isEmpty || key.hasPrefix("#") || key.contains("=") || strip(Substring(key)) != Substring(key)
            || key.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" })
        if unreadable {
            throw CatalogErrors.invalid("backup.info additional field '\(CatalogErrors.preview(key))' cannot be written")
        }
    }
}
