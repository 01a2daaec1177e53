import ArgumentParser

/// How `wal-push` and `wal-fetch` find the agent: `--config`, else `$SNAPFLEET_AGENT_CONFIG`,
/// else `/etc/snapfleet/agent.yaml`; its `local_socket` names the socket.
struct WALClientOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's configuration file (default: $SNAPFLEET_AGENT_CONFIG, else /etc/snapfleet/agent.yaml).")
    var config: String?
}

/// `wal-push %p`: PostgreSQL's `archive_command`.
struct WALPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal-push",
        abstract: "Archive one WAL file through the local agent; exit 0 only once it is durable in the archive.",
        discussion: """
            Use as archive_command = 'snapfleet-agent wal-push %p'. The agent uploads straight to object storage with \
            URLs the controller signs (or sends the bytes to the controller for a file:// archive), usually ahead of \
            this call. A file already archived with the same content counts as archived; different content is refused \
            and never overwritten. Exit status: 0 archived, 1 not archived (PostgreSQL retries), 2 bad configuration.
            """)

    @OptionGroup var options: WALClientOptions
    @Argument(help: "The WAL file (PostgreSQL's %p, relative to the data directory).")
    var path: String

    func run() throws {
        let status = WALClient.push(path: path, config: options.config)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `wal-fetch %f %p`: PostgreSQL's `restore_command`.
struct WALFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal-fetch",
        abstract: "Fetch one WAL file from the archive through the local agent.",
        discussion: """
            Use as restore_command = 'snapfleet-agent wal-fetch %f %p'. Reads segments snapfleet or barman-cloud \
            archived, uncompressed, gzip or zstd; the agent fetches the next segments ahead. Exit status: 0 fetched, \
            1 not in the archive (PostgreSQL then ends recovery normally), 2 bad configuration, 3 any other error.
            """)

    @OptionGroup var options: WALClientOptions
    @Argument(help: "The WAL file name (PostgreSQL's %f).")
    var name: String
    @Argument(help: "Where to write it (PostgreSQL's %p).")
    var destination: String

    func run() throws {
        let status = WALClient.fetch(name: name, destination: destination, config: options.config)
        if status != 0 { throw ExitCode(status) }
    }
}
