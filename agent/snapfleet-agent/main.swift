import AgentCore
import ArgumentParser
import Logging
import Messaging
import ProgramSupport
import SnapfleetConfig
import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// `snapfleet-agent`: the small daemon on every PostgreSQL host. It holds no cloud credential.
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapfleet-agent",
        abstract: "PostgreSQL-side half of snapfleet: holds the backup session, reports facts, never holds cloud credentials.",
        discussion: "Exit status: 0 success, 1 the operation or a check failed, 2 bad configuration or key file.",
        version: snapfleetVersion,
        subcommands: [Run.self, Check.self, WALPushCommand.self, WALFetchCommand.self, KeygenCommand.self]
    )
}

/// Options every command that reads `agent.yaml` shares.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The agent's configuration file.")
    var config: String = "/etc/snapfleet/agent.yaml"

    /// Loads and validates the file, or exits 2 with one line naming the file and the key.
    func load() -> AgentConfig {
        do { return try ConfigLoader.load(AgentConfig.self, from: config) } catch {
            ProgramExit.fail("snapfleet-agent", error)
        }
    }
}

/// `run`: the daemon.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect to the controller and serve it: facts, heartbeats, the backup session.")

    @OptionGroup var options: ConfigOption
    @Option(help: "Log level: \(LoggingSetup.levelNames).")
    var logLevel: String = "info"

    func run() throws {
        Daemon.run(program: "snapfleet-agent", logLevel: logLevel, label: "snapfleet.agent") { logger throws(SnapfleetError) in
            try SharedLibrary.require(.libpq, .libcurl)
            return try AgentService(config: options.load(), configPath: options.config, logger: logger)
        }
    }
}

/// `check`: local pre-flight checks.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check PostgreSQL and the disks under its data: one line per check, non-zero exit if any fails.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = options.load()
        let results = LocalChecks(conninfo: config.postgres).run()
        results.forEach { print($0.line) }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}

/// `keygen`: make the agent's CURVE key pair.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new CURVE key pair to a file (mode 0600) and print its public key.",
        discussion: "Put the public key in the controller's configuration as the server's 'agent_key'. An existing file is never overwritten.")

    @Option(help: "The key file to create.")
    var out: String

    func run() throws {
        do { print(try Keygen.run(out: out)) } catch { ProgramExit.fail("snapfleet-agent", error) }
    }
}

// PostgreSQL's own calls of wal-push and wal-fetch skip the full parser (see WALClient).
if let status = WALClient.status(ofPlainCommand: CommandLine.arguments) { exit(status) }
Agent.main()
