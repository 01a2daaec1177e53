import Foundation

/// The result of a finished child process.
public struct ProcessOutput: Sendable {
    /// The exit status (or 128 + signal).
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// A command failed in test set-up.
public struct CommandFailed: Error, CustomStringConvertible {
    /// The command line.
    public var command: [String]
    /// What it printed and how it ended.
    public var output: ProcessOutput
    /// `command: status, stderr`.
    public var description: String {
        "\(command.joined(separator: " ")) exited \(output.status): \(output.stderr)\(output.stdout)"
    }
}

/// Runs child processes for test set-up and for tests of the real programs.
public enum Shell {
    /// Runs `arguments[0]` (looked up in PATH) and waits; never throws for a non-zero exit.
    ///
    /// `environment`, if given, replaces the child's whole environment. Built on `ChildProcess`
    /// (posix_spawn and poll): `Foundation.Process` needs a Dispatch thread to notice the exit,
    /// and parallel tests on two cores can leave it none.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
        let prefix = environment.map { variables in ["env", "-i"] + variables.keys.sorted().map { "\($0)=\(variables[$0]!)" } } ?? []
        return try ChildProcess.run(prefix + arguments)
    }

    /// Runs a command and throws `CommandFailed` unless it exits 0; returns its standard output.
    @discardableResult
    public static func check(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let output = try run(arguments, environment: environment)
        guard output.status == 0 else { throw CommandFailed(command: arguments, output: output) }
        return output.stdout
    }
}

/// A directory under /tmp that is removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    /// Its absolute path.
    public let path: String

    /// Creates `/tmp/snapfleet-<prefix>-XXXXXX` with the given mode (755 so `postgres` can enter).
    public init(prefix: String, mode: mode_t = 0o755) throws {
        var template = Array("/tmp/snapfleet-\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CommandFailed(command: ["mkdtemp"], output: ProcessOutput(status: errno, stdout: "", stderr: "mkdtemp failed"))
        }
        path = String(cString: made)
        chmod(path, mode)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
