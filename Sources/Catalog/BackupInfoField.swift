/// How one `backup.info` key is read and written; the table lists barman's 35 keys (spec §3.2).
struct BackupInfoField {
    let name: String
    /// Sets the field from its text; nil stands for the literal `None`.
    let decode: (inout BackupInfo, String?) throws -> Void
    /// The field's text, or nil for `None`.
    let encode: (BackupInfo) -> String?
    /// Whether a nil value omits the line (barman's `_hide_if_null`: `backup_name`, `snapshots_info`).
    var hideIfNil = false

    /// Every key barman writes, alphabetically.
    static var all: [BackupInfoField] {
        [
            literal("backup_label", \.backupLabel, decode: { try $0.asString() }, encode: PythonLiteral.string),
            raw("backup_name", \.backupName).hiddenIfNil(),
            int("begin_offset", \.beginOffset), time("begin_time", \.beginTime), raw("begin_wal", \.beginWAL),
            raw("begin_xlog", \.beginXlog), childrenIDs(), int("cluster_size", \.clusterSize),
            raw("compression", \.compression), raw("config_file", \.configFile),
            literal("copy_stats", \.copyStats, decode: { try $0.asDict() }, encode: { $0 }),
            raw("data_checksums", \.dataChecksums), int("deduplicated_size", \.deduplicatedSize),
            raw("encryption", \.encryption), int("end_offset", \.endOffset), time("end_time", \.endTime),
            raw("end_wal", \.endWAL), raw("end_xlog", \.endXlog), raw("error", \.error), raw("hba_file", \.hbaFile),
            raw("ident_file", \.identFile),
            literal("included_files", \.includedFiles, decode: { try $0.asStringList() }, encode: { .list($0.map(PythonLiteral.string)) }),
            raw("mode", \.mode), raw("parent_backup_id", \.parentBackupID), raw("pgdata", \.pgdata),
            raw("server_name", \.serverName), int("size", \.size),
            literal("snapshots_info", \.snapshotsInfo, decode: SnapshotsInfo.init(literal:), encode: \.literal).hiddenIfNil(),
            status(), raw("summarize_wal", \.summarizeWAL), raw("systemid", \.systemID),
            literal("tablespaces", \.tablespaces, decode: { try $0.asTablespaces() }, encode: { .list($0.map(\.literal)) }),
            int("timeline", \.timeline), int("version", \.version), int("xlog_segment_size", \.xlogSegmentSize),
        ]
    }

    func hiddenIfNil() -> BackupInfoField {
        var copy = self
        copy.hideIfNil = true
        return copy
    }

    /// A text field stored as is.
    static func raw(_ name: String, _ path: WritableKeyPath<BackupInfo, String?>) -> BackupInfoField {
        BackupInfoField(name: name, decode: { $0[keyPath: path] = $1 }, encode: { $0[keyPath: path] })
    }

    /// An `int(...)` field.
    static func int(_ name: String, _ path: WritableKeyPath<BackupInfo, Int?>) -> BackupInfoField {
        BackupInfoField(
            name: name,
            decode: { info, text in info[keyPath: path] = try text.map(parseInt) },
            encode: { $0[keyPath: path].map(String.init) })
    }

    /// A `datetime` field.
    static func time(_ name: String, _ path: WritableKeyPath<BackupInfo, PythonDateTime?>) -> BackupInfoField {
        BackupInfoField(
            name: name,
            decode: { info, text in info[keyPath: path] = try text.map(PythonDateTime.init(parsing:)) },
            encode: { $0[keyPath: path]?.description })
    }

    /// A field written with `repr()` and read with `ast.literal_eval()`.
    static func literal<Value>(
        _ name: String, _ path: WritableKeyPath<BackupInfo, Value?>,
        decode: @escaping (PythonLiteral) throws -> Value, encode: @escaping (Value) -> PythonLiteral
    ) -> BackupInfoField {
        BackupInfoField(
            name: name,
            decode: { info, text in
                guard let text else { return info[keyPath: path] = nil }
                let literal = try PythonLiteral(parsing: text)
                info[keyPath: path] = literal == .none ? nil : try decode(literal)
            },
            encode: { $0[keyPath: path].map { encode($0).repr } })
    }

    /// `children_backup_ids`: comma-joined on write, split on read.
    static func childrenIDs() -> BackupInfoField {
        BackupInfoField(
            name: "children_backup_ids",
            decode: { info, text in info.childrenBackupIDs = text.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            },
            encode: { $0.childrenBackupIDs?.joined(separator: ",") })
    }

    /// `status`: one of barman's status constants.
    static func status() -> BackupInfoField {
        BackupInfoField(
            name: "status",
            decode: { info, text in
                guard let text, let status = BackupStatus(rawValue: text) else {
                    let valid = BackupStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    throw CatalogErrors.invalid("invalid status '\(CatalogErrors.preview(text ?? "None"))' (expected one of \(valid))")
                }
                info.status = status
            },
            encode: { $0.status.rawValue })
    }

    /// Python's `int()` on a decimal string (with an optional sign), refused beyond 64 bits.
    static func parseInt(_ text: String) throws -> Int {
        guard let value = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
            throw CatalogErrors.invalid("invalid integer '\(CatalogErrors.preview(text))'")
        }
        return value
    }
}

extension PythonLiteral {
    func asString() throws -> String {
        guard let text = stringValue else { throw CatalogErrors.invalid("expected a str, found \(CatalogErrors.preview(repr))") }
        return text
    }

    func asDict() throws -> PythonLiteral {
        guard case .dict = self else { throw CatalogErrors.invalid("expected a dict, found \(CatalogErrors.preview(repr))") }
        return self
    }

    func asStringList() throws -> [String] {
        guard case .list(let items) = self, let texts = Optional(items.compactMap(\.stringValue)), texts.count == items.count else {
            throw CatalogErrors.invalid("expected a list of str, found \(CatalogErrors.preview(repr))")
        }
        return texts
    }

    func asTablespaces() throws -> [BackupTablespace] {
        guard case .list(let items) = self else { throw CatalogErrors.invalid("expected a list, found \(CatalogErrors.preview(repr))") }
        return try items.enumerated().map { try BackupTablespace(literal: $1, index: $0) }
    }
}
