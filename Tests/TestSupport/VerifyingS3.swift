import Foundation
import SnapfleetCore

/// An S3 for tests whose every signature is checked: moto's S3 behind
/// `scripts/lib/s3_verifying_proxy.py`, which verifies header-signed and presigned (query-string)
/// requests and Content-MD5 as S3 does — moto checks none of them — and injects faults on demand.
public final class VerifyingS3: @unchecked Sendable {
    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    /// The only access key the proxy accepts.
    public static let accessKeyID = "AKIDPROXYTEST"
    /// Its secret.
    public static let secretAccessKey = "proxy-test-secret"
    /// The region it signs for.
    public let region = "us-east-1"
    /// The proxy's log: one line per request with its verdict.
    public let logPath: String
    private let directory: TemporaryDirectory
    private let controlFile: String
    private let pid: pid_t

    /// `scripts/lib/s3_verifying_proxy.py` of this checkout.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/lib/s3_verifying_proxy.py").standardizedFileURL.path

    /// Starts the proxy (with moto inside) on a free port.
    public init() throws {
        directory = try TemporaryDirectory(prefix: "verifying-s3")
        let portFile = directory.file("port")
        controlFile = directory.file("faults.json")
        logPath = directory.file("proxy.log")
        pid = try ChildProcess.spawn(
            ["python3", Self.script, "--port-file", portFile, "--control-file", controlFile], logPath: logPath)
        guard eventually(timeout: .seconds(60), { FileManager.default.fileExists(atPath: portFile) }),
            let port = try? String(contentsOfFile: portFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw SnapfleetError(.ioError, "the verifying S3 proxy did not start: \(String(log.suffix(2000)))")
        }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit {
        kill(pid, SIGKILL)
        _ = ChildProcess.exitStatus(of: pid, wait: true)
    }

    /// Everything the proxy logged.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Injects faults (the proxy's control-file format: `[["method": "PUT", "status": 503, "count": 3]]`);
    /// an empty list clears them.
    public func injectFaults(_ faults: [[String: Any]]) throws {
        let data = try JSONSerialization.data(withJSONObject: ["faults": faults])
        let temporary = controlFile + ".new"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, controlFile) == 0 else { throw SnapfleetError(.ioError, "cannot write \(controlFile)") }
    }

    /// Runs Python with a boto3 `s3` client signed for the proxy; returns its standard output.
    @discardableResult
    public func boto3(_ code: String) throws -> String {
        let prelude = """
            import boto3, json, sys
            s3 = boto3.client("s3", endpoint_url="\(endpoint)", region_name="\(region)", \
            aws_access_key_id="\(Self.accessKeyID)", aws_secret_access_key="\(Self.secretAccessKey)")

            """
        let file = directory.file("boto3-\(UUID().uuidString).py")
        try (prelude + code).write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try ChildProcess.check(["python3", file])
    }
}
