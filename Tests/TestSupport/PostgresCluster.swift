import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster: `initdb` in a temporary directory, run as the `postgres` user,
/// reachable over a Unix socket of its own (and TCP on 127.0.0.1), torn down when released.
///
/// `initdb` refuses to run as root, so every server-side command runs through
/// `runuser -u postgres`; the test process (root) connects as `user=postgres` with the trust
/// authentication that `initdb -A trust` sets up.
///
/// Programs are run with `ChildProcess` rather than `Shell.run`: `Foundation.Process` and the
/// stderr reader of `Shell.run` need a thread of Dispatch's global pool to notice the child's
/// exit, and that pool is also Swift's cooperative pool, one thread per core. With two cores,
/// two parallel tests blocked in `Shell.run` (or one blocked on `shared()` while another runs
/// `initdb`) leave no thread to finish either, and the test process hangs.
public final class PostgresCluster: Sendable {
    /// Where the PostgreSQL programs are (`SNAPFLEET_PG_BIN` overrides the PostgreSQL 15 default).
    public static let binDirectory =
        ProcessInfo.processInfo.environment["SNAPFLEET_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"

    /// Settings every cluster gets unless overridden: archiving that always succeeds (so
    /// `pg_backup_stop` with `wait_for_archive` returns), and a small footprint.
    public static let defaultSettings: [String: String] = [
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": "/bin/true",
        "listen_addresses": "127.0.0.1",
        "max_connections": "40",
        "shared_buffers": "16MB",
        "logging_collector": "off",
    ]

    /// The temporary directory holding everything (mode 755 so `postgres` can enter it).
    public let directory: TemporaryDirectory
    /// PGDATA.
    public let dataDirectory: String
    /// The Unix socket directory (also holds the server log).
    public let socketDirectory: String
    /// The server log.
    public let logFile: String
    /// The port (TCP on 127.0.0.1, and the socket's name).
    public let port: Int
    /// Where `archive_command` copies WAL when the cluster was made with `archiveToDirectory`.
    public let archiveDirectory: String

    private let running = Mutex(false)

    /// Creates a cluster with `settings` merged over `defaultSettings` and starts it.
    ///
    /// - Parameters:
    ///   - settings: postgresql.conf settings, values unquoted (`["archive_command": "cp %p /x/%f"]`).
    ///   - initdbArguments: extra `initdb` arguments, e.g. `["--wal-segsize=1"]` or `["--waldir=/x"]`.
    ///   - dataDirectory: where PGDATA goes (e.g. on a `LoopDisk`); it is created and given to
    ///     `postgres`. Default: `data` inside `directory`.
    ///   - archiveToDirectory: archive WAL for real, into `archiveDirectory` (instead of `/bin/true`).
    ///   - start: whether to start the server right away.
    public init(
        settings: [String: String] = [:], initdbArguments: [String] = [], dataDirectory: String? = nil,
        archiveToDirectory: Bool = false, start: Bool = true
    ) throws {
        directory = try TemporaryDirectory(prefix: "pg")
        self.dataDirectory = dataDirectory ?? directory.file("data")
        socketDirectory = directory.file("run")
        logFile = directory.file("run/postgres.log")
        archiveDirectory = directory.file("archive")
        port = freeTCPPort()
        try makeDirectory(at: self.dataDirectory, mode: 0o700)
        try makeDirectory(at: socketDirectory, mode: 0o755)
        try makeDirectory(at: archiveDirectory, mode: 0o755)
        try initdb(initdbArguments)
        var all = Self.defaultSettings
        if archiveToDirectory { all["archive_command"] = "test ! -f \(archiveDirectory)/%f && cp %p \(archiveDirectory)/%f" }
        try writeSettings(all.merging(settings) { _, given in given })
        if start { try self.start() }
    }

    deinit { teardown(removingFiles: false) }

    /// libpq conninfo for the test process: the Unix socket, `user=postgres`, database `postgres`.
    public var conninfo: String { "host=\(socketDirectory) port=\(port) user=postgres dbname=postgres" }

    /// libpq conninfo over TCP on 127.0.0.1.
    public var tcpConninfo: String { "host=127.0.0.1 port=\(port) user=postgres dbname=postgres" }

    /// Whether the server is running (as far as this object started and stopped it).
    public var isRunning: Bool { running.withLock { $0 } }

    /// Starts the server and waits until it accepts connections; the error carries the log's tail.
    public func start() throws {
        try asPostgres(["pg_ctl", "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "start"])
        running.withLock { $0 = true }
    }

    /// Stops the server (`fast`, `smart` or `immediate`) and waits until it is down.
    public func stop(mode: String = "fast") throws {
        try asPostgres(["pg_ctl", "-D", dataDirectory, "-m", mode, "-w", "-t", "60", "stop"])
        running.withLock { $0 = false }
    }

    /// `pg_ctl promote`: ends recovery (a new timeline, and its history file to archive).
    public func promote() throws {
        try asPostgres(["pg_ctl", "-D", dataDirectory, "-w", "-t", "60", "promote"])
    }

    /// Appends settings to postgresql.conf (they apply at the next start or reload).
    public func configure(_ settings: [String: String]) throws {
        try writeSettings(settings)
    }

    /// Creates an empty file owned by `postgres` in the data directory (`standby.signal`, `recovery.signal`).
    public func touch(_ name: String) throws {
        let path = dataDirectory + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]),
            let user = getpwnam("postgres"), chown(path, user.pointee.pw_uid, user.pointee.pw_gid) == 0
        else { throw CommandFailed(command: ["touch", path], output: ProcessOutput(status: 1, stdout: "", stderr: "cannot create \(path)")) }
    }

    /// Switches to a new WAL segment and waits until the archiver has stored the one it closed.
    public func switchAndWaitArchived(timeout: Duration = .seconds(60)) throws {
        let last = try psql("SELECT pg_walfile_name(pg_switch_wal())")
        guard try eventually(timeout: timeout, { try self.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= last }) else {
            throw CommandFailed(
                command: ["pg_switch_wal"],
                output: ProcessOutput(status: 1, stdout: "", stderr: "WAL not archived: \(try psql("SELECT * FROM pg_stat_archiver"))"))
        }
    }

    /// Stops (fast) and starts the server again.
    public func restart() throws {
        try stop()
        try start()
    }

    /// Runs SQL through `psql` as `postgres` and returns its unaligned, tuples-only output, trimmed
    /// (`|` between columns, one line per row). Throws if any statement fails.
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        let arguments = [
            "\(Self.binDirectory)/psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
            "-h", socketDirectory, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", sql,
        ]
        return try ChildProcess.check(arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `pg_controldata` as a dictionary (`"Database system identifier"` → `"7301…"`).
    public func controlData() throws -> [String: String] {
        let output = try ChildProcess.check(["\(Self.binDirectory)/pg_controldata", "-D", dataDirectory])
        var fields: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Creates a directory inside `directory` that `postgres` owns (for a tablespace or WAL archive).
    public func makePostgresDirectory(_ name: String) throws -> String {
        try makePostgresDirectory(at: directory.file(name))
    }

    /// Creates the directory at `path` (e.g. on another disk) owned by `postgres`, mode 0700; returns it.
    @discardableResult
    public func makePostgresDirectory(at path: String) throws -> String {
        try makeDirectory(at: path, mode: 0o700)
        return path
    }

    /// The last `lines` lines of the server log, for failure messages.
    public func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    // MARK: The shared cluster

    private static let sharedClusters = Mutex<[String: PostgresCluster]>([:])

    /// One running cluster per key and test process, made on first use (with the arguments of
    /// that first call) and stopped at exit, so tests that only need *a* server do not each pay
    /// for `initdb`. Tests run in parallel: do not stop a shared cluster or change its settings,
    /// and name what you create uniquely. A test suite that needs the server to itself (long
    /// checkpoints, restarts) uses a key of its own.
    public static func shared(
        _ key: String = "default", settings: [String: String] = [:], archiveToDirectory: Bool = false
    ) throws -> PostgresCluster {
        try sharedClusters.withLock { clusters in
            if let cluster = clusters[key] { return cluster }
            let cluster = try PostgresCluster(settings: settings, archiveToDirectory: archiveToDirectory)
            // Static objects are never deinitialized, so servers are stopped at process exit.
            if clusters.isEmpty { atexit { PostgresCluster.tearDownShared() } }
            clusters[key] = cluster
            return cluster
        }
    }

    private static func tearDownShared() {
        let clusters = sharedClusters.withLock { clusters in
            defer { clusters = [:] }
            return Array(clusters.values)
        }
        for cluster in clusters { cluster.teardown(removingFiles: true) }
    }

    // MARK: Set-up

    /// Stops the server at once (`immediate`: this is a throwaway cluster) and, at exit, removes
    /// its files (otherwise `TemporaryDirectory` does when released).
    private func teardown(removingFiles: Bool) {
        if isRunning || FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            _ = try? asPostgres(["pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
            running.withLock { $0 = false }
        }
        if removingFiles { try? FileManager.default.removeItem(atPath: directory.path) }
    }

    private func initdb(_ arguments: [String]) throws {
        try asPostgres(
            ["initdb", "-D", dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]
                + arguments)
    }

    /// Appends the settings (port and socket included) to postgresql.conf; later lines win.
    private func writeSettings(_ settings: [String: String]) throws {
        var all = settings
        all["port"] = String(port)
        all["unix_socket_directories"] = socketDirectory
        let lines = all.keys.sorted().map { key in
            "\(key) = '\(all[key]!.replacingOccurrences(of: "'", with: "''"))'"
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n# snapfleet test settings\n" + lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Runs a PostgreSQL program as `postgres` from a directory it can enter; throws with the log's tail.
    @discardableResult
    private func asPostgres(_ arguments: [String]) throws -> String {
        var command = arguments
        command[0] = "\(Self.binDirectory)/\(arguments[0])"
        let full = ["runuser", "-u", "postgres", "--"] + command
        let output = try ChildProcess.run(full, currentDirectory: directory.path)
        guard output.status == 0 else {
            var failed = output
            failed.stderr += "\n--- server log ---\n" + logTail()
            throw CommandFailed(command: full, output: failed)
        }
        return output.stdout
    }

    /// Creates a directory (with parents) owned by `postgres` with `mode`.
    private func makeDirectory(at path: String, mode: mode_t) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard let user = getpwnam("postgres") else {
            throw CommandFailed(command: ["getpwnam", "postgres"], output: ProcessOutput(status: 1, stdout: "", stderr: "no postgres user"))
        }
        guard chown(path, user.pointee.pw_uid, user.pointee.pw_gid) == 0, chmod(path, mode) == 0 else {
            throw CommandFailed(command: ["chown", path], output: ProcessOutput(status: errno, stdout: "", stderr: String(cString: strerror(errno))))
        }
    }
}
