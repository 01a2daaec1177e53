import Foundation

/// Runs a program and collects its output using only `posix_spawn`, `poll` and `waitpid`, so a
/// caller blocked on it never waits for a Dispatch or Swift-concurrency thread (see `PostgresCluster`).
public enum ChildProcess {
    /// Runs `arguments[0]` (looked up in PATH) with standard input from /dev/null and waits.
    ///
    /// The child gets no other descriptor of this process: a server started through `pg_ctl`
    /// must not keep a test's pipes open.
    public static func run(_ arguments: [String], currentDirectory: String? = nil) throws -> ProcessOutput {
        // `env -C` changes directory in the child (posix_spawn_file_actions_addchdir_np is not
        // visible to Swift's Glibc module).
        let command = currentDirectory.map { ["env", "-C", $0] + arguments } ?? arguments
        let output = try makePipe(command)
        let errors = try makePipe(command)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, command[0], &actions, nil, argv, environ)
        close(output.write)
        close(errors.write)
        guard spawned == 0 else {
            close(output.read)
            close(errors.read)
            throw failure(command, "posix_spawnp: \(String(cString: strerror(spawned)))")
        }
        let (stdout, stderr) = readToEnd(output.read, errors.read)
        return ProcessOutput(status: wait(for: pid), stdout: stdout, stderr: stderr)
    }

    /// Starts `arguments[0]` in the background with stdout and stderr appended to `logPath`;
    /// returns its pid (reap it with `waitpid`).
    public static func spawn(_ arguments: [String], logPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        // The test thread may block signals (the child inherits its mask): a server that never sees
        // SIGTERM cannot clean up (loop devices, links) before it is killed.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw failure(arguments, "posix_spawnp: \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// The exit status of a finished child (see `run`), or nil while it runs.
    public static func exitStatus(of pid: pid_t, wait: Bool) -> Int32? {
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, wait ? 0 : WNOHANG) } while result < 0 && errno == EINTR
        guard result == pid else { return result == 0 ? nil : -1 }
        return decode(status)
    }

    /// A pipe whose ends are closed on exec, so other threads' children do not inherit them.
    private static func makePipe(_ command: [String]) throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw failure(command, "pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// This process's open descriptors, which the child must not inherit (closefrom is not
    /// visible to Swift either); descriptors without close-on-exec would otherwise leak into a
    /// server started through `pg_ctl` and keep another test's pipes open forever.
    private static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }
    }

    /// Runs a program and throws `CommandFailed` unless it exits 0; returns its standard output.
    @discardableResult
    public static func check(_ arguments: [String]) throws -> String {
        let output = try run(arguments)
        guard output.status == 0 else { throw CommandFailed(command: arguments, output: output) }
        return output.stdout
    }

    /// Reads both pipes until both are closed (one at a time could block on a full other pipe).
    private static func readToEnd(_ first: Int32, _ second: Int32) -> (String, String) {
        var descriptors = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var data: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while descriptors.contains(where: { $0.fd >= 0 }) {
            guard poll(&descriptors, 2, -1) >= 0 || errno == EINTR else { break }
            for index in 0..<2 where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = read(descriptors[index].fd, &buffer, buffer.count)
                if count > 0 {
                    data[index] += buffer[0..<count]
                } else if count == 0 || errno != EINTR {
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                }
            }
        }
        return (String(decoding: data[0], as: UTF8.self), String(decoding: data[1], as: UTF8.self))
    }

    /// The exit status, or 128 + the signal that ended the child.
    private static func wait(for pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        return decode(status)
    }

    /// WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private static func failure(_ arguments: [String], _ what: String) -> CommandFailed {
        CommandFailed(command: arguments, output: ProcessOutput(status: -1, stdout: "", stderr: what))
    }
}
