import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// A finished external command: its exit status (or 128 + signal) and its merged output.
public struct HostCommandResult: Sendable {
    /// The exit status, or 128 + the signal.
    public var status: Int32
    /// stdout and stderr, merged.
    public var output: String
}

/// Runs the few external tools snapfleet needs (`fsfreeze`, `losetup`, `mount`).
///
/// Built on `posix_spawnp` and `waitpid` only: `Foundation.Process` needs a Dispatch thread to
/// notice the exit, and on two cores a busy test runner can leave it none.
public enum HostCommand {
    /// Runs `arguments[0]` (looked up in PATH) with stdin from /dev/null and waits for it.
    public static func run(_ arguments: [String]) throws(SnapfleetError) -> HostCommandResult {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw failure(arguments, "pipe", errno) }
        // Close-on-exec, so children that other threads start meanwhile do not inherit the pipe
        // (and keep this read waiting for their exit).
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(ends[1])
        guard spawned == 0 else {
            close(ends[0])
            throw failure(arguments, "cannot start", spawned)
        }
        let output = readToEnd(ends[0])
        return HostCommandResult(status: wait(for: pid), output: output)
    }

    /// Runs a command and returns its trimmed output, or throws an `.ioError` naming `what` failed.
    @discardableResult
    public static func check(_ arguments: [String], what: String, hint: String? = nil) throws(SnapfleetError) -> String {
        let result = try run(arguments)
        guard result.status == 0 else {
            let detail = trimmed(result.output)
            throw SnapfleetError(
                .ioError, "\(what): \(arguments.joined(separator: " ")) exited \(result.status)\(detail.isEmpty ? "" : ": \(detail)")",
                hint: hint)
        }
        return trimmed(result.output)
    }

    /// Reads the pipe until every writer (the child and anything it started) has closed it.
    private static func readToEnd(_ descriptor: Int32) -> String {
        defer { close(descriptor) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                data += buffer[0..<count]
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The exit status, or 128 + the signal that ended the child (WEXITSTATUS is a macro Swift does not import).
    private static func wait(for pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Sleeps `milliseconds` (before a retry).
    public static func pause(milliseconds: Int) {
        var delay = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&delay, &remaining) != 0 && errno == EINTR { delay = remaining }
    }

    private static func trimmed(_ text: String) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(text.drop(while: blank).reversed().drop(while: blank).reversed())
    }

    private static func failure(_ arguments: [String], _ what: String, _ number: Int32) -> SnapfleetError {
        SnapfleetError(
            .ioError, "\(what) \(arguments.joined(separator: " ")): \(String(cString: strerror(number)).lowercased())",
            hint: "is \(arguments.first ?? "the program") installed and in PATH?")
    }
}
