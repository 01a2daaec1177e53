import ArgumentParser
import Catalog
import ControllerCore
import Foundation
import ProgramSupport
import SnapfleetCore

/// `list-backups`: a server's backups, or the whole fleet's.
struct ListBackupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-backups",
        abstract: "List a server's backups (or every server's) from its catalog, as barman-cloud-backup-list does.",
        discussion: """
            Reads the catalog directly (the controller need not run). Text: the DONE backups, oldest first, with \
            barman-cloud-backup-list's columns (Backup ID, End Time, Begin Wal, Archival Status, Name) and snapfleet's backup \
            window. JSON: {"backups_list": [...]} with every backup of any status, barman's fields plus "snapfleet" (the \
            record of snapfleet's backups); with no SERVER, {"servers": {"NAME": {"backups_list": [...]}, ...}}.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server (default: every configured server).")
    var server: String?
    @ArgumentParser.Flag(help: "Every configured server (the same as giving no SERVER).")
    var all = false
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let config = options.load()
        let servers = server.map { [$0] } ?? config.servers.keys.sorted()
        let fleet = server == nil
        do throws(SnapfleetError) {
            if format == .text { print(CatalogOperations.listHeader(withServer: fleet)) }
            if format == .json { print(fleet ? "{\"servers\": {" : "", terminator: "") }
            for (index, name) in servers.enumerated() {
                let operations = try CatalogOperations(server: name, config: config)
                if format == .json {
                    if fleet { print((index > 0 ? ", " : "") + "\"\(name)\": ", terminator: "") }
                    print("{\"backups_list\": [", terminator: "")
                }
                try operations.listBackups(json: format == .json, showServer: fleet) { print($0, terminator: format == .json ? "" : "\n") }
                if format == .json { print("]}", terminator: "") }
            }
            if format == .json { print(fleet ? "}}" : "") }
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
    }
}

/// `show-backup`: one backup in full.
struct ShowBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-backup",
        abstract: "Show one backup as barman-cloud-backup-show does, with snapfleet's record (window, timings, agent).",
        discussion: "BACKUP is an id, a backup name, latest/last, oldest/first or last-failed (any status, as barman-cloud resolves them).")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server.")
    var server: String
    @Argument(help: "A backup id, a backup name, latest, oldest or last-failed.")
    var backup: String
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let config = options.load()
        do throws(SnapfleetError) {
            print(try CatalogOperations(server: server, config: config).showBackup(backup, json: format == .json))
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
    }
}

/// `keep`: barman-cloud's keep annotation.
struct KeepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keep",
        abstract: "Keep a backup from retention (or show or release the keep), as barman-cloud-backup-keep does.",
        discussion: """
            --target full keeps the backup and all WAL from it on; standalone keeps only the WAL that makes it consistent. \
            Only DONE backups can be kept. A kept backup is never deleted by retention, and delete-backup refuses it.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server.")
    var server: String
    @Argument(help: "A backup id, a backup name, latest, oldest or last-failed.")
    var backup: String
    @Option(help: "full or standalone.")
    var target: String?
    @ArgumentParser.Flag(help: "Print the backup's keep (Keep: full|standalone|nokeep).")
    var status = false
    @ArgumentParser.Flag(help: "Remove the keep.")
    var release = false

    func validate() throws {
        guard [target != nil, status, release].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --target, --status and --release")
        }
        if let target, KeepTarget(rawValue: target) == nil { throw ValidationError("--target must be full or standalone") }
    }

    func run() throws {
        let config = options.load()
        let action: CatalogOperations.KeepAction = status ? .status : (release ? .release : .add(KeepTarget(rawValue: target ?? "")!))
        do throws(SnapfleetError) {
            print(try CatalogOperations(server: server, config: config).keep(backup, action))
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
    }
}

/// `delete-backup`: one backup, or every one a retention policy makes obsolete.
struct DeleteBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-backup",
        abstract: "Delete a backup (snapshots, objects, the WAL no remaining backup needs), or apply a retention policy.",
        discussion: """
            As barman-cloud-backup-delete: the snapshots go first (a locked snapshot stops the deletion before that backup \
            is touched), then the backup's objects, then the WAL only it needed (timelines of other backups, .history files \
            and the WAL of standalone-kept backups stay), backup.info last. A kept backup is refused; with \
            --minimum-redundancy N a delete that would leave fewer than N backups is refused. --retention-policy deletes \
            every OBSOLETE backup, oldest first: REDUNDANCY n, or RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS (the server's \
            retention_policy with 'config'). An unreadable backup.info anywhere stops the run before anything is deleted; \
            a deletion that was interrupted is finished by the next run. --dry-run prints what would go and changes nothing. \
            Exit status: 0 done, 1 refused or failed, 2 bad configuration.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server.")
    var server: String
    @Argument(help: "A backup id, a backup name, latest, oldest or last-failed.")
    var backup: String?
    @Option(help: "REDUNDANCY n, RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS, or 'config' for the server's retention_policy.")
    var retentionPolicy: String?
    @Option(help: "The fewest backups to leave (default: the server's minimum_redundancy, else 0).")
    var minimumRedundancy: Int?
    @ArgumentParser.Flag(help: "Print what would be deleted; change nothing.")
    var dryRun = false

    func validate() throws {
        guard (backup == nil) != (retentionPolicy == nil) else { throw ValidationError("give either BACKUP or --retention-policy") }
        if let minimumRedundancy, minimumRedundancy < 0 { throw ValidationError("--minimum-redundancy must be 0 or more") }
        if let retentionPolicy, retentionPolicy != "config" {
            do { _ = try RetentionPolicy(parsing: retentionPolicy) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        let config = options.load()
        let say: @Sendable (String) -> Void = { print($0) }
        do throws(SnapfleetError) {
            let operations = try CatalogOperations(server: server, config: config)
            let minimum = minimumRedundancy ?? config.servers[server]?.minimumRedundancy ?? 0
            if let backup {
                try operations.deleteBackup(backup, minimumRedundancy: minimum, dryRun: dryRun, say: say)
            } else {
                // validate() has parsed it already; "config" leaves the server's own policy.
                let policy = retentionPolicy.flatMap { $0 == "config" ? nil : try? RetentionPolicy(parsing: $0) }
                try operations.applyRetention(policy: policy, minimumRedundancy: minimum, dryRun: dryRun, say: say)
            }
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
    }
}
