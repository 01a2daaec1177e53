import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// snapfleet's own record of a backup, stored as `ROOT/snapfleet/<id>.json` (see `CatalogStore.writeReport`): what
/// barman's format has no key for (the backup window, timings, the agent). Never inside
/// `backup.info`, whose readers refuse unknown keys.
struct BackupReport: Codable, Sendable {
    let backupID: String
    let server: String
    var status: String
    let backupWindowMs: Int?
    let startedAt: String
    var finishedAt: String?
    var durationMs: Int?
    let agentHost: String?
    let agentVersion: String?
    let controllerVersion: String
    var snapshots: [Snapshot]
    var failure: String?
    var problems: [String]

    struct Snapshot: Codable, Sendable {
        let disk: String
        let id: String
    }

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case server, status
        case backupWindowMs = "backup_window_ms"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case durationMs = "duration_ms"
        case agentHost = "agent_host"
        case agentVersion = "agent_version"
        case controllerVersion = "controller_version"
        case snapshots, failure, problems
    }

    /// The report of a finished run.
    init(result: BackupRunResult, server: String, started: Date, finished: Date, hello: Hello?) {
        backupID = result.backupID
        self.server = server
        status = result.status.rawValue
        backupWindowMs = result.backupWindow.map { Int($0 * 1000) }
        startedAt = Timestamp.rfc3339(started)
        finishedAt = Timestamp.rfc3339(finished)
        durationMs = Int(finished.timeIntervalSince(started) * 1000)
        agentHost = hello?.hostname
        agentVersion = hello?.agentVersion
        controllerVersion = snapfleetVersion
        snapshots = result.snapshots.map { Snapshot(disk: $0.disk.configuredName, id: $0.snapshot.id) }
        failure = result.failure.map { "\($0.step.rawValue): \($0.cause)" }
        problems = result.problems
    }

    /// The report written before anything else: it marks a STARTED backup as snapfleet's, so a
    /// restarted controller finishes only its own backups, never a barman-cloud one in progress.
    init(startedBackup backupID: String, server: String, started: Date, hello: Hello?) {
        self.backupID = backupID
        self.server = server
        status = BackupRecordKind.started.rawValue
        backupWindowMs = nil
        startedAt = Timestamp.rfc3339(started)
        finishedAt = nil
        durationMs = nil
        agentHost = hello?.hostname
        agentVersion = hello?.agentVersion
        controllerVersion = snapfleetVersion
        snapshots = []
        failure = nil
        problems = []
    }

    /// Pretty JSON bytes.
    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and arrays of them only: encoding cannot fail.
        return Array(try! encoder.encode(self))
    }
}
