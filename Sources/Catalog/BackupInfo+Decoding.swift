import SnapfleetCore

extension BackupInfo {
    /// What decoding does with a key barman's version 3.17 does not declare.
    public enum UnknownKeyPolicy: Sendable {
        /// Keep it in `additionalFields` (the default: a newer barman's file still loads and round-trips).
        case preserve
        /// Refuse the file with barman's own message, as barman's reader does (spec §3.1, quirk 30).
        case reject
    }

    /// The largest `backup.info` accepted; barman's files are a few KiB.
    public static let maxFileSize = 4 << 20

    /// Reads a `backup.info` file from its bytes, which must be UTF-8.
    public init(decoding bytes: some Collection<UInt8>, unknownKeys: UnknownKeyPolicy = .preserve) throws {
        guard bytes.count <= Self.maxFileSize else {
            throw CatalogErrors.invalid("backup.info is larger than \(Self.maxFileSize) bytes")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CatalogErrors.invalid("backup.info is not valid UTF-8")
        }
        try self.init(decoding: text, unknownKeys: unknownKeys)
    }

    /// Reads a `backup.info` file as barman's `FieldListFile.load` does: blank and `#` lines are
    /// skipped, each line splits at its first `=`, both sides are stripped, `None` is nil, and
    /// missing keys keep their defaults (a file with only `backup_label=None` and `end_time=…` loads, §12 item 13).
    public init(decoding text: String, unknownKeys: UnknownKeyPolicy = .preserve) throws {
        guard text.utf8.count <= Self.maxFileSize else {
            throw CatalogErrors.invalid("backup.info is larger than \(Self.maxFileSize) bytes")
        }
        self.init()
        let fields = Dictionary(uniqueKeysWithValues: BackupInfoField.all.map { ($0.name, $0) })
        var seen: Set<String> = []
        for (number, line) in Self.lines(of: text) {
            guard let (key, value) = try Self.split(line, number: number) else { continue }
            guard seen.insert(key).inserted else {
                throw CatalogErrors.invalid("backup.info line \(number): duplicate key '\(CatalogErrors.preview(key))'")
            }
            try apply(key: key, value: value, line: number, field: fields[key], unknownKeys: unknownKeys)
        }
    }

    private mutating func apply(key: String, value: String, line: Int, field: BackupInfoField?, unknownKeys: UnknownKeyPolicy) throws {
        guard let field else {
            guard unknownKeys == .preserve else {
                throw CatalogErrors.invalid(
                    "backup.info line \(line): Unsupported field '\(CatalogErrors.preview(key))' found in backup metadata. "
                        + "This indicates the backup was created with a newer version of Barman. "
                        + "Please upgrade to a compatible or newer version.")
            }
            additionalFields[key] = value
            return
        }
        do {
            try field.decode(&self, value == "None" ? nil : value)
        } catch let error as SnapfleetError {
            throw CatalogErrors.invalid("backup.info line \(line) (\(key)): \(error.message)")
        }
    }

    /// Lines with 1-based numbers, split at `\n`, `\r\n` and `\r` (Python's universal newlines).
    static func lines(of text: String) -> [(Int, Substring)] {
        var result: [(Int, Substring)] = []
        var start = text.startIndex
        var index = text.startIndex
        // Characters, not scalars: Swift treats "\r\n" as one Character, which matches Python's universal newlines.
        while index < text.endIndex {
            let character = text[index]
            if character == "\n" || character == "\r" || character == "\r\n" {
                result.append((result.count + 1, text[start..<index]))
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        if start < text.endIndex { result.append((result.count + 1, text[start..<text.endIndex])) }
        return result
    }

    /// `key=value` with both sides stripped, or nil for a blank or comment line.
    static func split(_ line: Substring, number: Int) throws -> (String, String)? {
        let trimmed = strip(line)
        if trimmed.isEmpty || line.hasPrefix("#") { return nil }
        guard let equals = line.firstIndex(of: "=") else {
            throw CatalogErrors.invalid("backup.info line \(number): invalid line '\(CatalogErrors.preview(line))' (no '=')")
        }
        let key = strip(line[..<equals])
        guard !key.isEmpty else { throw CatalogErrors.invalid("backup.info line \(number): empty key") }
        return (String(key), String(strip(line[line.index(after: equals)...])))
    }

    /// Python's `str.strip()`: Unicode white space plus the separators U+001C…U+001F.
    static func strip(_ text: Substring) -> Substring {
        let isSpace: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value) }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return Substring(scalars[first...last])
    }
}
