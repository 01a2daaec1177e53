import Foundation

/// A forwarding proxy in front of a `MotoServer` that loses the cloud's answers on demand:
/// `scripts/lib/ec2_fault_proxy.py` on 127.0.0.1, for tests of what the controller does when the
/// cloud acted but its reply never arrived (a snapshot made, then a 503 or a reset connection).
///
/// Every request reaches moto unchanged, its Host header included, so signatures still count:
/// sign with the upstream's key (`upstream.accessKeyID`) and send to `endpoint`. EC2, S3 and IAM
/// all pass through the one endpoint, as they do to moto. Faults follow the proxy's control-file
/// format (see the script's documentation):
///
///     try proxy.setFaults([["action": "CreateSnapshot", "after_forward": "status", "status": 503, "count": 1]])
///
/// Match fields `action` (the EC2 `Action`) and `method`; `count` (absent = unlimited). Kinds:
/// `"after_forward": "status"` with `status` (and optional `code`) forwards, then answers that
/// error instead of moto's answer; `"after_forward": "reset"` forwards, then resets the connection;
/// `status` alone answers without forwarding; `delay_seconds` waits, then goes on.
public final class EC2FaultProxy: Sendable {
    /// `http://127.0.0.1:PORT`: the endpoint to give the code under test instead of moto's.
    public let endpoint: String
    /// The moto server behind the proxy; kept running at least as long as the proxy.
    public let upstream: MotoServer
    /// The proxy's log: one line per request, `ACTION/METHOD PATH -> forwarded STATUS | fault ...`.
    public let logPath: String
    private let directory: TemporaryDirectory
    private let controlFile: String
    private let pid: pid_t

    /// `scripts/lib/ec2_fault_proxy.py` of this checkout.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/lib/ec2_fault_proxy.py").standardizedFileURL.path

    /// Starts the proxy on a free port in front of `upstream`, with no faults.
    public init(upstream: MotoServer) throws {
        self.upstream = upstream
        directory = try TemporaryDirectory(prefix: "ec2-fault-proxy")
        let portFile = directory.file("port")
        controlFile = directory.file("faults.json")
        logPath = directory.file("proxy.log")
        let command = [
            "python3", Self.script, "--upstream", upstream.endpoint, "--port-file", portFile, "--control-file", controlFile,
        ]
        pid = try ChildProcess.spawn(command, logPath: logPath)
        // The script writes the port file (atomically) only once its socket listens.
        guard eventually(timeout: .seconds(30), { FileManager.default.fileExists(atPath: portFile) }),
            let port = try? String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw CommandFailed(
                command: command, output: ProcessOutput(status: -1, stdout: "", stderr: "the EC2 fault proxy did not start: \(log.suffix(2000))"))
        }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit {
        kill(pid, SIGKILL)
        _ = ChildProcess.exitStatus(of: pid, wait: true)
    }

    /// Everything the proxy logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Replaces the faults (counts start afresh); an empty list clears them.
    ///
    /// The control file is written under a temporary name and renamed over the old one: the proxy
    /// never reads a half-written file, and the new file's inode tells it the faults changed even
    /// within one tick of the file-system clock.
    public func setFaults(_ faults: [[String: Any]]) throws {
        let data = try JSONSerialization.data(withJSONObject: ["faults": faults], options: [.sortedKeys])
        let temporary = controlFile + ".\(UUID().uuidString).tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, controlFile) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw CommandFailed(command: ["rename", temporary, controlFile], output: ProcessOutput(status: -1, stdout: "", stderr: reason))
        }
    }
}
