import Catalog
import Foundation
import SnapfleetCore

/// The text and JSON that `list-backups` and `show-backup` print: barman-cloud's own layouts
/// (spec §8), with snapfleet's record added where a backup has one.
enum CatalogOutput {
    /// `barman-cloud-backup-list`'s header, plus the backup window (and the server, for a fleet listing).
    static func listHeader(withServer: Bool) -> String {
        (withServer ? pad("Server", 20) : "") + listRow("Backup ID", "End Time", "Begin Wal", "Archival Status", "Name") + "Window"
    }

    /// One DONE backup's row.
    static func listLine(_ backup: CatalogBackup, info: BackupInfo, server: String?) -> String {
        let end = info.endTime.map { "\(pad4($0.year))-\(two($0.month))-\(two($0.day)) \(two($0.hour)):\(two($0.minute)):\(two($0.second))" }
        let window = backup.report?.backupWindowMs.map { String(format: "%.3f s", Double($0) / 1000) } ?? ""
        let row = listRow(
            backup.id.rawValue, end ?? "", info.beginWAL ?? "", backup.keep.map { "KEEP:\($0.rawValue.uppercased())" } ?? "",
            info.backupName ?? "")
        return (server.map { pad($0, 20) } ?? "") + row + window
    }

    /// Python's `"{:<20}{:<25}{:<30}{:<17}{:<20}"`.
    private static func listRow(_ id: String, _ end: String, _ wal: String, _ keep: String, _ name: String) -> String {
        pad(id, 20) + pad(end, 25) + pad(wal, 30) + pad(keep, 17) + pad(name, 20)
    }

    /// One backup in `list-backups --format json`: barman's `to_json()`, plus `snapfleet` with the record.
    static func json(_ backup: CatalogBackup, info: BackupInfo) -> JSONValue {
        var object = info.barmanJSON(backupID: backup.id)
        if let report = backup.report { object["snapfleet"] = recordJSON(report) }
        return .object(object)
    }

    /// snapfleet's record of a backup, snake_case.
    static func recordJSON(_ report: BackupReport) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(report.json))) ?? .null
    }

    /// Compact JSON text (sorted keys, so that the output is stable).
    static func text(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }

    /// `barman-cloud-backup-show`'s console text (spec §8.2), then snapfleet's record.
    static func show(_ backup: CatalogBackup, info: BackupInfo) -> String {
        var lines = ["Backup \(backup.id):"]
        func row(_ name: String, _ value: String) { lines.append("  " + pad(name, 23) + ": " + value) }
        func nested(_ name: String, _ value: String) { lines.append(nestedRow(name, value)) }
        if let name = info.backupName { row("Backup Name", name) }
        row("Server Name", info.serverName ?? "None")
        if let system = info.systemID { row("System Id", system) }
        row("Status", info.status.rawValue)
        if info.status.isCopyDone {
            row("PostgreSQL Version", info.version.map(String.init) ?? "None")
            row("PGDATA directory", info.pgdata ?? "None")
            if let size = info.clusterSize { row("Estimated Cluster Size", prettySize(size)) }
        }
        lines.append("")
        if info.dataChecksums?.isEmpty == false || info.summarizeWAL?.isEmpty == false {
            lines.append("  Server information:")
            if let checksums = info.dataChecksums, !checksums.isEmpty { nested("Checksums", checksums) }
            if let summarizer = info.summarizeWAL, !summarizer.isEmpty { nested("WAL summarizer", summarizer) }
            lines.append("")
        }
        if info.status.isCopyDone {
            lines += snapshotSection(info)
            if let tablespaces = info.tablespaces, !tablespaces.isEmpty {
                lines.append("  Tablespaces:")
                for space in tablespaces { nested(space.name, "\(space.location) (oid: \(space.oid))") }
                lines.append("")
            }
            lines.append("  Base backup information:")
            if let mode = info.mode { nested("Backup Method", mode) }
            if let encryption = info.encryption { nested("Encryption", encryption) }
            if let compression = info.compression, compression != "none" { nested("Backup Compression", compression) }
            nested("Timeline", info.timeline.map(String.init) ?? "None")
            nested("Begin WAL", info.beginWAL ?? "None")
            nested("End WAL", info.endWAL ?? "None")
            nested("Begin time", info.beginTime?.description ?? "None")
            nested("End time", info.endTime?.description ?? "None")
            if let copy = info.copyStats?["copy_time"]?.doubleValue, copy != 0 { nested("Copy time", humanDuration(copy)) }
            nested("Begin Offset", info.beginOffset.map(String.init) ?? "None")
            nested("End Offset", info.endOffset.map(String.init) ?? "None")
            nested("Begin LSN", info.beginXlog ?? "None")
            nested("End LSN", info.endXlog ?? "None")
            lines.append("")
        } else if let error = info.error {
            row("Error", error)
        }
        if let report = backup.report { lines += recordSection(report) }
        return lines.joined(separator: "\n")
    }

    /// `Snapshot information:`: the provider, its info in stored order, then each snapshot's keys sorted.
    private static func snapshotSection(_ info: BackupInfo) -> [String] {
        guard let snapshots = info.snapshotsInfo, case .dict(let top) = snapshots.literal else { return [] }
        var lines = ["  Snapshot information:"]
        for entry in top {
            guard let key = entry.key.stringValue else { continue }
            switch key {
            case "provider_info":
                if case .dict(let fields) = entry.value { lines += fields.map { nestedRow($0.key.stringValue ?? "", display($0.value)) } }
            case "snapshots": continue
            default: lines.append(nestedRow(key, display(entry.value)))
            }
        }
        lines.append("")
        for mount in snapshotEntries(top) {
            lines += mount.provider.sorted { $0.0 < $1.0 }.map { nestedRow($0.0, $0.1) }
            lines += [nestedRow("Mount point", mount.point), nestedRow("Mount options", mount.options), ""]
        }
        return lines
    }

    private static func snapshotEntries(_ top: [PythonLiteral.DictEntry]) -> [(provider: [(String, String)], point: String, options: String)] {
        guard case .list(let items)? = top.first(where: { $0.key.stringValue == "snapshots" })?.value else { return [] }
        return items.map { item in
            let provider: [(String, String)]
            if case .dict(let fields)? = item["provider"] {
                provider = fields.map { ($0.key.stringValue ?? "", display($0.value)) }
            } else {
                provider = []
            }
            let mount = item["mount"]
            return (
                provider, mount?["mount_point"].map(display) ?? "None",
                mount?["mount_options"].map(display) ?? "None"
            )
        }
    }

    /// snapfleet's own lines: what barman's format has no key for.
    private static func recordSection(_ report: BackupReport) -> [String] {
        var lines = ["  snapfleet:"]
        func add(_ name: String, _ value: String?) { if let value { lines.append(nestedRow(name, value)) } }
        add("Backup window", report.backupWindowMs.map { String(format: "%.3f s", Double($0) / 1000) })
        add("Started", report.startedAt)
        add("Finished", report.finishedAt)
        add("Duration", report.durationMs.map { String(format: "%.3f s", Double($0) / 1000) })
        add("Agent host", report.agentHost)
        add("Agent version", report.agentVersion)
        add("Controller version", report.controllerVersion)
        add("Failure", report.failure)
        for problem in report.problems { add("Problem", problem) }
        return lines + [""]
    }

    /// barman's `nested_row`: `"    {:<21}: {}"`.
    private static func nestedRow(_ name: String, _ value: String) -> String { "    " + pad(name, 21) + ": " + value }

    /// A literal as barman prints it in a row (`str()` of the value).
    private static func display(_ literal: PythonLiteral) -> String {
        switch literal {
        case .none: "None"
        case .string(let text): text
        default: literal.repr
        }
    }

    /// barman's `pretty_size` in binary units (`2.3 GiB`).
    static func prettySize(_ bytes: Int) -> String {
        let suffixes = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
        var size = Double(bytes)
        for (index, suffix) in suffixes.enumerated() {
            if abs(size) < 1024 || index == suffixes.count - 1 {
                return index == 0 ? "\(bytes) B" : String(format: "%.1f %@", size, suffix)
            }
            size /= 1024
        }
        return "\(bytes) B"
    }

    /// barman's `human_readable_timedelta` (`1 minute, 10 seconds`).
    static func humanDuration(_ seconds: Double) -> String {
        let whole = Int(abs(seconds))
        let parts = [("day", whole / 86_400), ("hour", whole % 86_400 / 3600), ("minute", whole % 3600 / 60), ("second", whole % 60)]
        let text = parts.filter { $0.1 > 0 }.map { "\($0.1) \($0.0)\($0.1 == 1 ? "" : "s")" }.joined(separator: ", ")
        return abs(seconds) < 1 ? "less than one second" : text
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private static func pad4(_ value: Int) -> String { String(repeating: "0", count: max(0, 4 - String(value).count)) + String(value) }
}
