import Foundation

/// A real snapfleet program (or any command) running in the background for a test, its
/// output going to a log file; stopped with SIGTERM (then SIGKILL) when released.
public final class ProgramProcess: @unchecked Sendable {
    /// The log file holding the program's stdout and stderr.
    public let logPath: String
    /// The process id.
    public let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with `arguments`, logging to `logPath`, with `environment` added to this process's.
    public init(_ executable: String, _ arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        self.logPath = logPath
        let variables = environment.keys.sorted().map { "\($0)=\(environment[$0]!)" }
        pid = try ChildProcess.spawn((variables.isEmpty ? [] : ["env"] + variables) + [executable] + arguments, logPath: logPath)
    }

    /// Whether the process is still running.
    public var isRunning: Bool {
        if status == nil { status = ChildProcess.exitStatus(of: pid, wait: false) }
        return status == nil
    }

    /// Waits up to `timeout` for the process to exit by itself; its status, or nil if it still runs.
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        return isRunning ? nil : status
    }

    /// Everything it has logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits up to `timeout` for it to exit (then SIGKILL); returns its status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) -> Int32 {
        guard isRunning else { return status ?? -1 }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if isRunning {
            kill(pid, SIGKILL)
            status = ChildProcess.exitStatus(of: pid, wait: true)
        }
        return status ?? -1
    }

    deinit { stop(timeout: .seconds(5)) }
}

/// Where the built snapfleet programs are: beside the test bundle (`swift build` builds them).
public enum BuiltProducts {
    /// The directory of the running test binary, e.g. `.build/x86_64-unknown-linux-gnu/debug`, or
    /// `SNAPFLEET_PRODUCTS_DIR` when set (benchmarks run release builds of the programs from debug tests).
    public static let directory: String = {
        if let chosen = ProcessInfo.processInfo.environment["SNAPFLEET_PRODUCTS_DIR"], !chosen.isEmpty { return chosen }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On Linux the tests run from `<bundle>.xctest` itself; on other layouts walk up to the build dir.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("snapfleet-agent").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// The path of a built executable.
    public static func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// Whether `swift build` has made the product.
    public static func exists(_ name: String) -> Bool { FileManager.default.isExecutableFile(atPath: path(name)) }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
public func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length)
            return getsockname(fd, pointer, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
