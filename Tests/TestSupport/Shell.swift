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
    @discardableResult
    public static func run(
        _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil,
        currentDirectory: String? = nil
    ) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try? stdin.fileHandleForWriting.close()
        // Read standard error on another thread so a chatty child cannot block on a full pipe.
        let errors = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            errors.data = stderr.fileHandleForReading.readDataToEndOfFile()
        }
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let errData = errors.data
        return ProcessOutput(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
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

/// Hands bytes from a reader thread back to its caller (which waits on a group first).
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
