import Foundation

/// A cloud stand-in of `scripts/lib` running for a test: started with `--port-file`,
/// `--state-dir` and `--control-file`, it serves on loopback once the port file exists, takes
/// faults from the control file, answers an admin API under `/standin/`, and on SIGTERM undoes the
/// loop devices and links it made. `GCPStandIn` and `AzureStandIn` are built on it.
public final class StandInProcess: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    /// Its state directory (its key or settings file; test-made images can go there too).
    public let directory: TemporaryDirectory
    /// Its log.
    public let logPath: String
    private let controlFile: String
    private let pid: pid_t

    /// Starts `scripts/lib/<script>` with `arguments` after the common ones; `ready` names a file
    /// of the state directory that must exist too before it counts as started.
    public init(script: String, arguments: [String], ready: String? = nil) throws {
        let directory = try TemporaryDirectory(prefix: String(script.prefix { $0 != "_" }))
        let (logPath, controlFile, portFile) = (directory.file("standin.log"), directory.file("faults.json"), directory.file("port"))
        (self.directory, self.logPath, self.controlFile) = (directory, logPath, controlFile)
        let launcher = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/lib/\(script)")
            .standardizedFileURL.path
        let common = ["python3", launcher, "--port-file", portFile, "--state-dir", directory.path, "--control-file", controlFile]
        let readyFile = ready.map { directory.file($0) }
        let pid = try ChildProcess.spawn(common + arguments, logPath: logPath)
        self.pid = pid
        guard
            eventually(
                timeout: .seconds(60),
                {
                    FileManager.default.fileExists(atPath: portFile) && readyFile.map { FileManager.default.fileExists(atPath: $0) } != false
                }),
            let port = try? String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
            throw CommandFailed(
                command: [script], output: ProcessOutput(status: -1, stdout: "", stderr: "the stand-in did not start: \(Self.tail(logPath))"))
        }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit {
        // SIGTERM: it undoes the loop devices and links it made before it exits.
        kill(pid, SIGTERM)
        if !eventually(timeout: .seconds(10), { ChildProcess.exitStatus(of: pid, wait: false) != nil }) {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
        }
    }

    /// Replaces the faults (see the stand-in's docstring), e.g. `[["path_contains": "createSnapshot", "status": 503, "count": 1]]`.
    public func setFaults(_ faults: [[String: Any]]) throws {
        let data = try JSONSerialization.data(withJSONObject: ["faults": faults])
        let temporary = controlFile + ".new"
        try data.write(to: URL(fileURLWithPath: temporary))
        // A new inode: the stand-in notices the change even within one mtime tick.
        _ = rename(temporary, controlFile)
    }

    /// One admin call; its JSON answer.
    @discardableResult
    public func admin(_ method: String, _ path: String, _ body: [String: Any]?) throws -> [String: Any] {
        var command = ["curl", "-sS", "-X", method, "-w", "\n%{http_code}", endpoint + path]
        if let body {
            let data = try JSONSerialization.data(withJSONObject: body)
            command += ["-H", "Content-Type: application/json", "--data-binary", String(decoding: data, as: UTF8.self)]
        }
        let output = try Shell.run(command)
        let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard output.status == 0, let status = lines.last.flatMap({ Int($0) }), (200..<300).contains(status) else {
            throw CommandFailed(command: [method, path], output: output)
        }
        let text = lines.dropLast().joined(separator: "\n")
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// Every cloud API call so far: method, path (no query) and status (-1 for a dropped connection).
    public func calls() throws -> [(method: String, path: String, status: Int)] {
        let calls = (try admin("GET", "/standin/calls", nil)["calls"] as? [[String: Any]]) ?? []
        return calls.map { ($0["method"] as? String ?? "", $0["path"] as? String ?? "", $0["status"] as? Int ?? -1) }
    }

    /// Access tokens issued so far.
    public func tokensIssued() throws -> Int {
        try admin("GET", "/standin/tokens/count", nil)["count"] as? Int ?? -1
    }

    /// Runs `prelude` then `code` as one Python script; what it printed.
    public func python(prelude: String, _ code: String) throws -> String {
        let script = directory.file("script-\(UUID().uuidString).py")
        try (prelude + code).write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        return try ChildProcess.check(["python3", script])
    }

    /// The stand-in's log, for failure messages.
    public var log: String { Self.tail(logPath) }

    static func tail(_ path: String) -> String {
        String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").suffix(4000))
    }
}
