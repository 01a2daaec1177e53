import SnapfleetCore

extension BackupInfo {
    /// The backup as `barman-cloud-backup-list --format json` and `-show --format json` give it
    /// (barman's `BackupInfo.to_json`, spec §8.1): every field under its own name (`backup_name` and
    /// `snapshots_info` only when set), Python literals as JSON, `backup_label` as its Python repr,
    /// times as `ctime()` text plus `*_iso`, and `backup_id`.
    public func barmanJSON(backupID: BackupID) -> [String: JSONValue] {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func number(_ value: Int?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
        var json: [String: JSONValue] = [
            "backup_id": .string(backupID.rawValue),
            "backup_label": backupLabel.map { .string(PythonLiteral.string($0).repr) } ?? .null,
            "begin_offset": number(beginOffset), "begin_time": text(beginTime?.ctime), "begin_wal": text(beginWAL),
            "begin_xlog": text(beginXlog),
            "children_backup_ids": childrenBackupIDs.map { .array($0.map(JSONValue.string)) } ?? .null,
            "cluster_size": number(clusterSize), "compression": text(compression), "config_file": text(configFile),
            "copy_stats": copyStats.map(Self.json) ?? .null, "data_checksums": text(dataChecksums),
            "deduplicated_size": number(deduplicatedSize), "encryption": text(encryption), "end_offset": number(endOffset),
            "end_time": text(endTime?.ctime), "end_wal": text(endWAL), "end_xlog": text(endXlog), "error": text(error),
            "hba_file": text(hbaFile), "ident_file": text(identFile),
            "included_files": includedFiles.map { .array($0.map(JSONValue.string)) } ?? .null, "mode": text(mode),
            "parent_backup_id": text(parentBackupID), "pgdata": text(pgdata), "server_name": text(serverName), "size": number(size),
            "status": .string(status.rawValue), "summarize_wal": text(summarizeWAL), "systemid": text(systemID),
            "tablespaces": tablespaces.map { .array($0.map { Self.json($0.literal) }) } ?? .null, "timeline": number(timeline),
            "version": number(version), "xlog_segment_size": number(xlogSegmentSize),
        ]
        if let backupName { json["backup_name"] = .string(backupName) }
        if let snapshotsInfo { json["snapshots_info"] = Self.json(snapshotsInfo.literal) }
        if let beginTime { json["begin_time_iso"] = .string(beginTime.isoFormat) }
        if let endTime { json["end_time_iso"] = .string(endTime.isoFormat) }
        return json
    }

    /// A Python literal as JSON (`json.dumps` of what `literal_eval` gives: tuples become lists).
    static func json(_ literal: PythonLiteral) -> JSONValue {
        switch literal {
        case .none: .null
        case .bool(let value): .bool(value)
        case .int(let value): .number(Double(value))
        case .float(let value): .number(value)
        case .string(let value): .string(value)
        case .list(let items), .tuple(let items): .array(items.map(json))
        case .dict(let entries):
            .object(Dictionary(entries.map { (($0.key.stringValue ?? $0.key.repr), json($0.value)) }, uniquingKeysWith: { _, last in last }))
        }
    }
}

extension PythonDateTime {
    /// Python's `datetime.ctime()`: `Fri Mar 15 02:15:01 2024` (the day padded with a space).
    public var ctime: String {
        let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        // 1970-01-01 was a Thursday (index 3 from Monday).
        let weekday = weekdays[((CivilDate.toDays(year: year, month: month, day: day) % 7) + 7 + 3) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = self.day < 10 ? " \(self.day)" : "\(self.day)"
        return "\(weekday) \(months[month - 1]) \(day) \(two(hour)):\(two(minute)):\(two(second)) \(year)"
    }

    /// Python's `datetime.isoformat()`: `str()` with a `T` between date and time.
    public var isoFormat: String {
        let text = description
        guard let space = text.firstIndex(of: " ") else { return text }
        return String(text[..<space]) + "T" + String(text[text.index(after: space)...])
    }
}
