import Foundation
import Synchronization

/// A real AWS API stand-in for tests: `moto` in server mode (S3 and EC2 on one port) on
/// 127.0.0.1, with request signing **enforced**, started through `scripts/lib/snapfleet_moto.py`,
/// which adds what moto lacks (snapshot locks; snapshots that stay pending, fail, take time to
/// create, or copy a disk image), each switched on by a tag on the volume (`VolumeTag`).
///
/// moto accepts any signature by default, which would prove nothing about snapfleet's SigV4
/// code. It is started with `INITIAL_NO_AUTH_ACTION_COUNT=4`: the first four calls create an
/// IAM user with an allow-all policy and an access key, and every later request must be
/// signed with that key (a wrong secret gets `SignatureDoesNotMatch` or `AuthFailure`).
public final class MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    /// The access key id every request must be signed with.
    public let accessKeyID: String
    /// Its secret.
    public let secretAccessKey: String
    /// The region to sign for.
    public let region = "us-east-1"
    /// moto's output.
    public let logPath: String
    /// Where the extension keeps snapshot and volume images.
    public let imageDirectory: String
    /// The moto process (its CPU time is part of what a fleet round costs).
    public let pid: pid_t
    private let directory: TemporaryDirectory

    /// Whether moto can be started here (`python3 -m moto.server` and boto3 importable).
    public static let isAvailable: Bool = {
        (try? ChildProcess.run(["python3", "-c", "import moto.server, boto3"]).status) == 0
    }()

    /// `scripts/lib/snapfleet_moto.py` of this checkout.
    static let launcher = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/lib/snapfleet_moto.py")
        .standardizedFileURL.path

    /// The volume tags the moto extension reads (set them on a volume before snapshotting it).
    public enum VolumeTag {
        /// Seconds a snapshot of the volume stays `pending`, with growing progress.
        public static let pendingSeconds = "snapfleet-test:snapshot-pending-seconds"
        /// How a snapshot of the volume ends (EC2's snapshot states; absent: `completed`):
        /// - `error`: `error` after the pending seconds, if any, with a `StateMessage`;
        /// - `error-at-create`: `error` at once, already in `CreateSnapshot`'s answer (pending seconds ignored);
        /// - `recovering`: `recovering` instead of `pending` for the pending seconds, then `completed`
        ///   (as a snapshot being restored from the Recycle Bin);
        /// - `recoverable`: `recoverable` after the pending seconds, if any (as a snapshot in the Recycle Bin).
        ///
        /// Any other value makes `CreateSnapshot` fail with `InvalidParameterValue`.
        public static let outcome = "snapfleet-test:snapshot-outcome"
        /// Seconds `CreateSnapshot` takes to answer.
        public static let createDelaySeconds = "snapfleet-test:create-delay-seconds"
        /// An image file on this machine: a snapshot copies it, a volume made from that snapshot gets a copy.
        public static let image = "snapfleet-test:image"
    }

    /// Why `isAvailable` can be false, for skipped tests.
    public static let requirement = "needs python3 with moto[server] and boto3 (scripts/setup installs them)"

    /// Starts a moto server of its own on a free port and creates the signing key.
    ///
    /// `enforcingSignatures: false` gives a plain moto that accepts any signature: only for
    /// third-party tools (barman-cloud) whose listings moto would wrongly refuse, never to test
    /// snapfleet's own signing.
    ///
    /// `attachingDevices: true` makes an attached volume that has an image appear on this host as
    /// its device (a loop device and a `/dev/<name>` link), as a real instance would see it.
    public init(enforcingSignatures: Bool = true, attachingDevices: Bool = false) throws {
        directory = try TemporaryDirectory(prefix: "moto")
        let port = freeTCPPort()
        endpoint = "http://127.0.0.1:\(port)"
        logPath = directory.file("moto.log")
        imageDirectory = directory.file("images")
        try FileManager.default.createDirectory(atPath: imageDirectory, withIntermediateDirectories: true)
        let authentication = enforcingSignatures ? ["INITIAL_NO_AUTH_ACTION_COUNT=4"] : []
        let devices = attachingDevices ? ["SNAPFLEET_MOTO_ATTACH_DEVICES=1"] : []
        let environment = ["env", "MOTO_EC2_LOAD_DEFAULT_AMIS=false", "SNAPFLEET_MOTO_IMAGES=\(imageDirectory)"] + authentication + devices
        pid = try ChildProcess.spawn(
            environment + ["python3", Self.launcher, "-H", "127.0.0.1", "-p", String(port)], logPath: logPath)
        guard eventually(timeout: .seconds(30), { Self.accepts(port: port) }) else {
            throw CommandFailed(
                command: ["moto.server"], output: ProcessOutput(status: -1, stdout: "", stderr: "moto did not start: \(Self.tail(logPath))"))
        }
        let keys = enforcingSignatures ? try Self.createAccessKey(endpoint: endpoint, directory: directory) : ("AKIAPLAINMOTO", "plain-moto-secret")
        accessKeyID = keys.0
        secretAccessKey = keys.1
    }

    /// One moto per test process, stopped at exit; name your buckets and tags uniquely.
    public static func shared() throws -> MotoServer {
        try sharedServer.withLock { server in
            if let server { return server }
            let started = try MotoServer()
            atexit { MotoServer.stopShared() }
            server = started
            return started
        }
    }

    /// Runs a Python snippet with boto3 clients `s3` and `ec2` bound to this server and its key
    /// (for test set-up and for checking what snapfleet did); returns its standard output.
    @discardableResult
    public func boto3(_ code: String) throws -> String {
        let script = directory.file("script-\(UUID().uuidString).py")
        let prelude = """
            import boto3, json, sys
            _kw = dict(endpoint_url="\(endpoint)", region_name="\(region)", aws_access_key_id="\(accessKeyID)", aws_secret_access_key="\(secretAccessKey)")
            s3 = boto3.client("s3", **_kw)
            ec2 = boto3.client("ec2", **_kw)

            """
        try (prelude + code).write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        return try ChildProcess.check(["python3", script])
    }

    deinit { stop() }

    private func stop() {
        kill(pid, SIGKILL)
        _ = ChildProcess.exitStatus(of: pid, wait: true)
    }

    private static let sharedServer = Mutex<MotoServer?>(nil)

    private static func stopShared() {
        sharedServer.withLock { $0?.stop() }
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// The four unauthenticated calls: user, policy, attachment, access key.
    private static func createAccessKey(endpoint: String, directory: TemporaryDirectory) throws -> (String, String) {
        let script = directory.file("create-key.py")
        try """
        import boto3, json
        iam = boto3.client("iam", endpoint_url="\(endpoint)", region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="snapfleet")
        policy = iam.create_policy(PolicyName="all", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        iam.attach_user_policy(UserName="snapfleet", PolicyArn=policy["Policy"]["Arn"])
        key = iam.create_access_key(UserName="snapfleet")["AccessKey"]
        print(key["AccessKeyId"], key["SecretAccessKey"])
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let words = try ChildProcess.check(["python3", script]).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard words.count == 2 else {
            throw CommandFailed(
                command: ["create-key.py"], output: ProcessOutput(status: -1, stdout: words.joined(separator: " "), stderr: "unexpected output"))
        }
        return (words[0], words[1])
    }

    private static func tail(_ path: String) -> String {
        String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").suffix(2000))
    }
}
