import AgentCore
import ArgumentParser
import Foundation
import Messaging
import ProgramSupport
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// How `wal-push` and `wal-fetch` find the agent: `--config`, else `$SNAPFLEET_AGENT_CONFIG`,
/// else `/etc/snapfleet/agent.yaml`; its `local_socket` names the socket.
struct WALClientOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's configuration file (default: $SNAPFLEET_AGENT_CONFIG, else /etc/snapfleet/agent.yaml).")
    var config: String?

    /// The local socket, or exit 2 naming the file and the key. Only `local_socket` is read (these
    /// commands run once per WAL segment; the daemon has checked the whole file).
    func socket() -> String {
        let path = config ?? ProcessInfo.processInfo.environment["SNAPFLEET_AGENT_CONFIG"] ?? "/etc/snapfleet/agent.yaml"
        do { return try ConfigLoader.string("local_socket", from: path) ?? AgentConfig.defaultLocalSocket } catch {
            ProgramExit.fail("snapfleet-agent", error)
        }
    }
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
        let socket = options.socket()
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        do {
            let reply = try LocalClient.call(.walPush(WALPush(path: absolute)), socketPath: socket, timeout: .seconds(600))
            guard case .walStored = reply else { throw SnapfleetError(.unexpectedMessage, "the agent answered \(reply.type.rawValue)") }
        } catch {
            ProgramExit.printError("snapfleet-agent wal-push \(path): \(error)")
            throw ExitCode(1)
        }
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
        let socket = options.socket()
        do {
            let absolute = destination.hasPrefix("/") ? destination : FileManager.default.currentDirectoryPath + "/" + destination
            let request = WALFileRequest(name: name, destination: absolute)
            let (reply, attachments) = try LocalClient.exchange(.walFetch(request), socketPath: socket, timeout: .seconds(600))
            guard case .walData(let data) = reply else { throw SnapfleetError(.unexpectedMessage, "the agent answered \(reply.type.rawValue)") }
            guard data.found else { throw ExitCode(1) }
            if data.delivered == true { return }  // the agent wrote it in place
            guard attachments.count == 1 else { throw SnapfleetError(.invalidBody, "the agent sent \(name) without its bytes") }
            try write(attachments[0])
        } catch let error as SnapfleetError {
            ProgramExit.printError("snapfleet-agent wal-fetch \(name): \(error)")
            throw ExitCode(3)
        }
    }

    /// Writes to a temporary name beside the destination, then renames: PostgreSQL never sees half a
    /// file. Plain POSIX calls, one write of the whole buffer: recovery calls this once per segment.
    private func write(_ bytes: [UInt8]) throws(SnapfleetError) {
        let temporary = destination + ".snapfleet-partial"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SnapfleetError(.ioError, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else { break }
            written += count
        }
        let closed = close(descriptor) == 0
        guard written == bytes.count, closed, rename(temporary, destination) == 0 else {
            unlink(temporary)
            throw SnapfleetError(.ioError, "cannot write \(destination): \(String(cString: strerror(errno)))")
        }
    }
}
