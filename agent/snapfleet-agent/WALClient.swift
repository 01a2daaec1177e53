import AgentCore
import Foundation
import Messaging
import ProgramSupport
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// `wal-push` and `wal-fetch`: hand one WAL file to the local agent, or have it fetch one. Each
/// returns the command's exit status; `WALCommands` gives them their `--help`.
enum WALClient {
    /// The configuration file: `--config`, else `$SNAPFLEET_AGENT_CONFIG`, else `/etc/snapfleet/agent.yaml`.
    private static func configPath(_ explicit: String?) -> String {
        explicit ?? ProcessInfo.processInfo.environment["SNAPFLEET_AGENT_CONFIG"] ?? "/etc/snapfleet/agent.yaml"
    }

    /// Archives `path` (PostgreSQL's `%p`): 0 archived, 1 not archived (PostgreSQL retries), 2 bad configuration.
    static func push(path: String, config: String?) -> Int32 {
        let socket = self.socket(config)
        do {
            let reply = try LocalClient.call(.walPush(WALPush(path: absolute(path))), socketPath: socket, timeout: .seconds(600))
            guard case .walStored = reply else { throw SnapfleetError(.unexpectedMessage, "the agent answered \(reply.type.rawValue)") }
            return 0
        } catch {
            ProgramExit.printError("snapfleet-agent wal-push \(path): \(error)")
            return 1
        }
    }

    /// Fetches `name` to `destination` (PostgreSQL's `%f %p`): 0 fetched, 1 not in the archive,
    /// 2 bad configuration, 3 any other error.
    static func fetch(name: String, destination: String, config: String?) -> Int32 {
        let socket = self.socket(config)
        do {
            let request = WALFileRequest(name: name, destination: absolute(destination))
            let (reply, attachments) = try LocalClient.exchange(.walFetch(request), socketPath: socket, timeout: .seconds(600))
            guard case .walData(let data) = reply else { throw SnapfleetError(.unexpectedMessage, "the agent answered \(reply.type.rawValue)") }
            guard data.found else { return 1 }
            if data.delivered == true { return 0 }  // the agent wrote it in place
            guard attachments.count == 1 else { throw SnapfleetError(.invalidBody, "the agent sent \(name) without its bytes") }
            try write(attachments[0], to: destination)
            return 0
        } catch {
            ProgramExit.printError("snapfleet-agent wal-fetch \(name): \(error)")
            return 3
        }
    }

    /// The exit status of `arguments` when they are one of the two commands in the plain shape
    /// PostgreSQL runs them in (`wal-push [--config F] P`, `wal-fetch [--config F] F P`); nil for
    /// anything else (`--help`, mistakes), which the full parser handles. PostgreSQL runs these
    /// once per WAL segment, and the full parser's reflection over every command was a fifth of
    /// each call's start-up.
    static func status(ofPlainCommand arguments: [String]) -> Int32? {
        guard arguments.count > 1, ["wal-push", "wal-fetch"].contains(arguments[1]) else { return nil }
        var config: String?
        var positional: [String] = []
        var rest = arguments.dropFirst(2)[...]
        while let argument = rest.popFirst() {
            if argument == "--config", let value = rest.popFirst(), config == nil {
                config = value
            } else if argument.hasPrefix("--config="), config == nil {
                config = String(argument.dropFirst("--config=".count))
            } else if argument.hasPrefix("-") || argument.isEmpty {
                return nil
            } else {
                positional.append(argument)
            }
        }
        switch (arguments[1], positional.count) {
        case ("wal-push", 1): return push(path: positional[0], config: config)
        case ("wal-fetch", 2): return fetch(name: positional[0], destination: positional[1], config: config)
        default: return nil
        }
    }

    /// The local socket, or exit 2 naming the file and the key. Only `local_socket` is read (these
    /// commands run once per WAL segment; the daemon has checked the whole file).
    private static func socket(_ config: String?) -> String {
        let path = configPath(config)
        do { return try ConfigLoader.string("local_socket", from: path) ?? AgentConfig.defaultLocalSocket } catch {
            ProgramExit.fail("snapfleet-agent", error)
        }
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Writes to a temporary name beside the destination, then renames: PostgreSQL never sees half a file.
    private static func write(_ bytes: [UInt8], to destination: String) throws(SnapfleetError) {
        let temporary = destination + ".snapfleet-partial"
        let descriptor = try PosixFiles.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW)
        let written = Result { () throws(SnapfleetError) in try PosixFiles.writeAll(descriptor, bytes, path: temporary) }
        let closed = close(descriptor) == 0 ? nil : PosixFiles.failure("close", temporary)
        do throws(SnapfleetError) {
            try written.get()
            if let closed { throw closed }
            try PosixFiles.rename(temporary, to: destination)
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
