import ArgumentParser
import ControllerCore
import Foundation
import Logging
import Messaging
import ProgramSupport
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol

/// `snapfleet-controller`: the central half of snapfleet, the only one with cloud credentials.
struct Controller: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapfleet-controller",
        abstract: "Central coordinator of snapfleet: trusts agents by key, tracks the fleet, runs backups.",
        discussion: "Exit status: 0 success, 1 the operation failed or was refused, 2 bad configuration or key file.",
        version: snapfleetVersion,
        subcommands: [
            Serve.self, Agents.self, StatusCommand.self, CheckCommand.self, BackupCommand.self, RestoreCommand.self, ListBackupsCommand.self,
            ShowBackupCommand.self,
            KeepCommand.self, DeleteBackupCommand.self, CheckWALArchiveCommand.self, KeygenCommand.self,
        ]
    )
}

/// Options every command that reads `controller.yaml` shares.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The controller's configuration file.")
    var config: String = "/etc/snapfleet/controller.yaml"

    /// Loads and validates the file, or exits 2 with one line naming the file and the key.
    func load() -> ControllerConfig {
        do { return try ConfigLoader.load(ControllerConfig.self, from: config) } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
    }
}

/// `serve`: run the controller daemon.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the controller: accept agents over CURVE, answer operator commands on the admin socket.")

    @OptionGroup var options: ConfigOption
    @Option(help: "Log level: \(LoggingSetup.levelNames).")
    var logLevel: String = "info"

    func run() throws {
        Daemon.run(program: "snapfleet-controller", logLevel: logLevel, label: "snapfleet.controller") { logger throws(SnapfleetError) in
            try SharedLibrary.require(.libcurl)
            return try ControllerService(config: options.load(), configPath: options.config, logger: logger)
        }
    }
}

/// `agents`: list the fleet's servers and their connected agents.
struct Agents: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every configured server and its connected agent (asks the running controller).")

    @OptionGroup var options: ConfigOption
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let config = options.load()
        do throws(SnapfleetError) {
            var agents: [AgentInfo] = []
            var more = true
            while more {
                // Page by page: a large fleet's list does not fit one message.
                let request = Message.agentsList(AgentsListRequest(after: agents.last?.server))
                let reply = try LocalClient.call(request, socketPath: config.adminSocket, timeout: .seconds(10))
                guard case .agents(let page) = reply else {
                    throw SnapfleetError(.unexpectedMessage, "controller answered agents_list with \(reply.type.rawValue)")
                }
                agents += page.agents
                more = page.more && !page.agents.isEmpty
            }
            print(format == .json ? AgentsReport.json(agents) : AgentsReport.table(agents))
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
    }
}

/// `status`: the fleet at a glance, with Nagios exit statuses.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each server's agent, backups, schedule and problems (asks the running controller).",
        discussion: """
            Exit status as Nagios plugins report: 0 all OK, 1 a WARNING, 2 a CRITICAL, 3 the \
            controller could not be asked. The limits are 'monitoring:' in the configuration.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "Only this server (default: the whole fleet).")
    var server: String?
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let config = options.load()
        let level: HealthLevel
        do throws(SnapfleetError) {
            var servers: [ServerStatus] = []
            var page = try ask(config, after: nil)
            servers += page.servers
            while page.more, let last = page.servers.last {
                page = try ask(config, after: last.server)
                servers += page.servers
            }
            if format == .json {
                print(StatusOutput.json(servers, last: page))
            } else {
                print(StatusOutput.summary(servers, last: page))
                print(StatusOutput.table(servers))
            }
            level = servers.map(\.level).max() ?? .ok
        } catch {
            FileHandle.standardError.write(Data("snapfleet-controller: \(error)\n".utf8))
            throw ExitCode(3)
        }
        if level != .ok { throw ExitCode(level.exitStatus) }
    }

    private func ask(_ config: ControllerConfig, after: String?) throws(SnapfleetError) -> StatusReport {
        let request = Message.statusRequest(StatusRequest(server: server, after: after))
        let reply = try LocalClient.call(request, socketPath: config.adminSocket, timeout: .seconds(10))
        guard case .statusReport(let report) = reply else {
            throw SnapfleetError(.unexpectedMessage, "controller answered status_request with \(reply.type.rawValue)")
        }
        return report
    }
}

/// `check`: a server's pre-flight checks.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run a server's pre-flight checks (asks the running controller): instance, disks, mounts, coverage, PostgreSQL.",
        discussion: "One line per check, OK or FAILED with a hint. Exit status 0 only if every check passes.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server to check.")
    var server: String
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let config = options.load()
        let report: CheckReport
        do throws(SnapfleetError) {
            let reply = try LocalClient.call(.checkServer(CheckServer(server: server)), socketPath: config.adminSocket, timeout: .seconds(120))
            guard case .checkReport(let received) = reply else {
                throw SnapfleetError(.unexpectedMessage, "controller answered check_server with \(reply.type.rawValue)")
            }
            report = received
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
        print(format == .json ? CheckReportOutput.json(report) : report.checks.map(\.line).joined(separator: "\n"))
        if !report.passed { throw ExitCode(1) }
    }
}

/// `restore`: prepare a recovery server's data directory from a snapshot backup.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot backup onto a recovery server (asks the running controller).",
        discussion: """
            Checks with the cloud API that every snapshot of the backup has exactly one disk on the recovery instance \
            created from it (--provision creates and attaches them; the agent mounts them if its allow_mount is true), \
            then the recovery server's agent checks each disk is mounted where and how it was, that the data directory \
            is on them and PostgreSQL is not running, and only then writes backup_label, the recovery settings \
            (restore_command = snapfleet-agent wal-fetch, the target) and recovery.signal. A FAILED backup is never \
            restored. Exit status 0 when the data directory is ready to start, 1 when a check failed (nothing written).
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server whose backup to restore.")
    var server: String
    @Argument(help: "A backup id, a backup name, latest, oldest or last-failed.")
    var backup: String
    @Option(help: "The configured server whose agent prepares the restore (may be SERVER itself).")
    var recoveryServer: String
    @Option(help: "The instance the disks are attached to (default: the recovery server's snapshot_instance).")
    var recoveryInstance: String?
    @Option(help: "Recover to this time (e.g. '2026-11-25 21:30:00+00').")
    var targetTime: String?
    @Option(help: "Recover to this LSN.")
    var targetLsn: String?
    @Option(help: "Recover to this transaction id.")
    var targetXid: String?
    @Option(help: "Recover to this restore point.")
    var targetName: String?
    @ArgumentParser.Flag(help: "Stop as soon as the backup is consistent.")
    var targetImmediate = false
    @Option(help: "latest, current or a timeline number.")
    var targetTimeline: String?
    @Option(help: "pause, promote or shutdown.")
    var targetAction: String?
    @ArgumentParser.Flag(help: "Create the disks from the snapshots, attach and mount them.")
    var provision = false

    func run() throws {
        let config = options.load()
        let target = RecoveryTarget(
            time: targetTime, lsn: targetLsn, xid: targetXid, name: targetName, immediate: targetImmediate, timeline: targetTimeline,
            action: targetAction)
        let request = RestoreRunRequest(
            server: server, backup: backup, recoveryServer: recoveryServer, recoveryInstance: recoveryInstance, target: target, provision: provision)
        let outcome: RestoreRunOutcome
        do throws(SnapfleetError) {
            try request.validate()
            let reply = try LocalClient.call(.restoreRun(request), socketPath: config.adminSocket, timeout: .seconds(3600))
            guard case .restoreResult(let received) = reply else {
                throw SnapfleetError(.unexpectedMessage, "controller answered restore_run with \(reply.type.rawValue)")
            }
            outcome = received
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
        outcome.checks.forEach { print($0.line) }
        outcome.provisioned.forEach { print("provisioned  \($0)") }
        outcome.written.forEach { print($0.hasPrefix("removed ") ? "removed      \($0.dropFirst(8))" : "written      \($0)") }
        print(
            outcome.ready
                ? "backup \(outcome.backupID) restored: start PostgreSQL to recover" : "backup \(outcome.backupID) NOT restored: nothing was written")
        if !outcome.ready { throw ExitCode(1) }
    }
}

/// `check-wal-archive`: may a new or restored server archive into this server's WAL archive?
struct CheckWALArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-wal-archive",
        abstract: "Check that a server's WAL archive is safe to archive into (as barman-cloud-check-wal-archive).",
        discussion: """
            Without --timeline the archive must be empty; with --timeline N it must hold nothing of timeline N or \
            later. Reads the archive directly with the controller's credentials. Exit status: 0 safe, 1 not safe, \
            2 bad configuration, other non-zero values for errors reaching the archive.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server whose archive to check.")
    var server: String
    @Option(help: "The timeline the new server will start on (a positive number).")
    var timeline: Int?

    func validate() throws {
        if let timeline, timeline < 1 { throw ValidationError("--timeline must be a positive number") }
    }

    func run() throws {
        let verdict: WALArchiveCheck.Verdict
        do { verdict = try WALArchiveCheck.run(config: options.load(), server: server, timeline: timeline) } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
        print(verdict.message)
        if !verdict.usable { throw ExitCode(1) }
    }
}

/// `backup`: take a snapshot backup of a server now.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take a snapshot backup of a server now (through the running controller) and print its id.",
        discussion: """
            Runs the pre-flight checks first (nothing is created if one fails), then starts the backup on the \
            agent, snapshots every disk at once, stops the backup as soon as the snapshots' contents are fixed, \
            stores backup_label and writes backup.info in barman-cloud's layout. Without --immediate-checkpoint \
            (the default, as with barman-cloud-backup) PostgreSQL first runs a spread checkpoint, which can take \
            minutes (checkpoint_completion_target × checkpoint_timeout at most). Progress (phase and seconds) \
            is printed to standard error every 5 s; standard output carries only the backup id. \
            Exit status 0 only for a DONE backup.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The server to back up.")
    var server: String
    @Option(help: "A name for the backup (usable instead of its id).")
    var name: String?
    @ArgumentParser.Flag(help: "Ask PostgreSQL for an immediate checkpoint rather than a spread one.")
    var immediateCheckpoint = false

    func run() throws {
        let config = options.load()
        let outcome: BackupRunOutcome
        do throws(SnapfleetError) {
            let request = BackupRunRequest(server: server, name: name, immediateCheckpoint: immediateCheckpoint)
            let reply = try LocalClient.call(.backupRun(request), socketPath: config.adminSocket, timeout: .seconds(7 * 86_400)) { message in
                // Progress goes to standard error: standard output carries only the backup id.
                guard case .backupProgress(let progress) = message else { return }
                ProgramExit.printError(BackupCommand.progressLine(progress))
            }
            guard case .backupResult(let received) = reply else {
                throw SnapfleetError(.unexpectedMessage, "controller answered backup_run with \(reply.type.rawValue)")
            }
            outcome = received
        } catch {
            ProgramExit.fail("snapfleet-controller", error)
        }
        print(outcome.backupID)
        guard outcome.status == "DONE" else {
            ProgramExit.printError("snapfleet-controller: backup \(outcome.backupID) FAILED: \(outcome.error ?? "unknown cause")")
            throw ExitCode(1)
        }
    }
}

extension BackupCommand {
    /// `backup 20251125T213000 pg1: checkpoint, 35 s (PostgreSQL is running a spread checkpoint)`.
    static func progressLine(_ progress: BackupProgress) -> String {
        let detail = progress.detail.map { " (\($0))" } ?? ""
        return "backup \(progress.backupID) \(progress.server): \(progress.phase), \(progress.seconds) s\(detail)"
    }
}

/// `keygen`: make the controller's CURVE key pair.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new CURVE key pair to a file (mode 0600) and print its public key.",
        discussion: "Give the public key to agents as 'controller_public_key'. An existing file is never overwritten.")

    @Option(help: "The key file to create.")
    var out: String

    func run() throws {
        do { print(try Keygen.run(out: out)) } catch { ProgramExit.fail("snapfleet-controller", error) }
    }
}

/// The formats of report commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

Controller.main()
