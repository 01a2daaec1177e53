import Foundation
import Synchronization

/// The Azure stand-in for tests (`scripts/lib/azure_standin.py`): Entra ID (client secret and
/// certificate grants), the managed identity endpoint of IMDS, Resource Manager's VMs, disks and
/// snapshots with asynchronous operations, and the Blob service of one storage account, on one
/// loopback port, all checking credentials for real. Its admin API (`/standin/…`) makes
/// containers, VMs with data disks, and sets how snapshots of a disk behave.
public final class AzureStandIn: Sendable {
    /// The running stand-in.
    public let process: StandInProcess
    /// `http://127.0.0.1:PORT`: the authority, IMDS and management endpoint at once.
    public var endpoint: String { process.endpoint }
    /// The tenant id.
    public let tenantID: String
    /// The app registration that authenticates with `clientSecret`.
    public let clientID: String
    /// Its secret.
    public let clientSecret: String
    /// The app registration that authenticates with the certificate.
    public let certificateClientID: String
    /// The PEM file with that app's certificate and private key.
    public let certificatePath: String
    /// The subscription id.
    public let subscription: String
    /// The one resource group.
    public let resourceGroup: String
    /// The one location (`westeurope`).
    public let location: String
    /// The storage account.
    public let storageAccount: String
    /// Its access key (base64).
    public let storageKey: String
    /// `http://127.0.0.1:PORT/ACCOUNT`: the path-style blob endpoint.
    public let blobEndpoint: String
    /// Where test-made disk images can go.
    public var directory: TemporaryDirectory { process.directory }

    /// Whether it can run here (python3 with cryptography and azure-storage-blob).
    public static let isAvailable: Bool = {
        (try? ChildProcess.run(["python3", "-c", "import cryptography, azure.storage.blob"]).status) == 0
    }()

    /// Why `isAvailable` can be false.
    public static let requirement = "needs python3 with cryptography and azure-storage-blob (scripts/setup installs them)"

    /// One stand-in per test process (pages of 7, so listings take several), stopped at exit:
    /// name containers, VMs and disks uniquely.
    public static func shared() throws -> AzureStandIn {
        try sharedStandIn.withLock { standIn in
            if let standIn { return standIn }
            let started = try AzureStandIn(pageSize: 7)
            atexit { AzureStandIn.stopShared() }
            standIn = started
            return started
        }
    }

    private static let sharedStandIn = Mutex<AzureStandIn?>(nil)

    private static func stopShared() {
        sharedStandIn.withLock { $0 = nil }
    }

    /// The settings file the stand-in writes at start.
    private struct Settings: Decodable {
        var tenantID, clientID, clientSecret, certificateClientID, certificatePath: String
        var subscriptionID, resourceGroup, location, storageAccount, storageKey, blobEndpoint: String

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id"
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case certificateClientID = "certificate_client_id"
            case certificatePath = "certificate_path"
            case subscriptionID = "subscription_id"
            case resourceGroup = "resource_group"
            case location
            case storageAccount = "storage_account"
            case storageKey = "storage_key"
            case blobEndpoint = "blob_endpoint"
        }
    }

    /// Starts one on a free port; `attachingDevices` (root) makes an attached disk with an image
    /// appear as `/dev/disk/azure/scsi1/lun<N>`, as a VM sees it.
    public init(attachingDevices: Bool = false, tokenLifetime: Int? = nil, pageSize: Int? = nil) throws {
        var arguments: [String] = []
        if attachingDevices { arguments.append("--attach-devices") }
        if let tokenLifetime { arguments += ["--token-lifetime", String(tokenLifetime)] }
        if let pageSize { arguments += ["--page-size", String(pageSize)] }
        process = try StandInProcess(script: "azure_standin.py", arguments: arguments, ready: "azure.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: process.directory.file("azure.json")))
        let settings = try JSONDecoder().decode(Settings.self, from: data)
        tenantID = settings.tenantID
        clientID = settings.clientID
        clientSecret = settings.clientSecret
        certificateClientID = settings.certificateClientID
        certificatePath = settings.certificatePath
        subscription = settings.subscriptionID
        resourceGroup = settings.resourceGroup
        location = settings.location
        storageAccount = settings.storageAccount
        storageKey = settings.storageKey
        blobEndpoint = settings.blobEndpoint
    }

    /// A data disk of a VM made through the admin API.
    public struct DataDisk: Sendable {
        /// The disk's name.
        public var name: String
        /// Its LUN.
        public var lun: Int
        /// Its size.
        public var sizeGB: Int
        /// An image file a snapshot copies (and a disk from that snapshot gets a copy of).
        public var image: String?

        /// Describes a data disk.
        public init(name: String, lun: Int, sizeGB: Int = 10, image: String? = nil) {
            self.name = name
            self.lun = lun
            self.sizeGB = sizeGB
            self.image = image
        }
    }

    /// Makes a blob container.
    public func createContainer(_ name: String) throws {
        _ = try admin("POST", "/standin/containers", ["name": name])
    }

    /// Makes a VM with `dataDisks` attached at their LUNs (the disks are made if needed), and an
    /// OS disk; returns the VM as Resource Manager shows it.
    @discardableResult
    public func createVM(_ name: String, dataDisks: [DataDisk], updateSeconds: Double? = nil) throws -> [String: Any] {
        let disks: [[String: Any]] = dataDisks.map { disk in
            var entry: [String: Any] = ["name": disk.name, "lun": disk.lun, "size_gb": disk.sizeGB]
            if let image = disk.image { entry["image"] = image }
            return entry
        }
        var body: [String: Any] = ["name": name, "data_disks": disks]
        if let updateSeconds { body["update_seconds"] = updateSeconds }
        return try admin("POST", "/standin/vms", body)
    }

    /// Makes a managed disk attached to nothing.
    public func createDisk(_ name: String, sizeGB: Int = 10) throws {
        _ = try admin("POST", "/standin/disks", ["name": name, "size_gb": sizeGB])
    }

    /// Sets how snapshots of a disk behave: seconds until the create operation succeeds, seconds of
    /// background copy after, the outcome (`Succeeded`, `Failed`, `FailedAtCreate`), and a delay
    /// before the PUT answers.
    public func setSnapshotBehaviour(
        disk: String, acceptSeconds: Double? = nil, copySeconds: Double? = nil, outcome: String? = nil, createDelaySeconds: Double? = nil
    ) throws {
        var body: [String: Any] = [:]
        if let acceptSeconds { body["accept_seconds"] = acceptSeconds }
        if let copySeconds { body["copy_seconds"] = copySeconds }
        if let outcome { body["outcome"] = outcome }
        if let createDelaySeconds { body["create_delay_seconds"] = createDelaySeconds }
        _ = try admin("POST", "/standin/disks/\(disk)/behaviour", body)
    }

    /// Runs a Python snippet with Microsoft's own blob client and a Resource Manager reader bound
    /// to this stand-in: `container(name)` (an azure-storage-blob `ContainerClient`, shared key),
    /// `arm(path)` (a GET under the resource group, decoded) and `json`; returns what it printed.
    public func python(_ code: String) throws -> String {
        let prelude = """
            import json, requests
            from azure.storage.blob import BlobServiceClient
            _blobs = BlobServiceClient(account_url="\(blobEndpoint)", credential={"account_name": "\(storageAccount)", "account_key": "\(storageKey)"})
            def container(name):
                return _blobs.get_container_client(name)
            _token = requests.post("\(endpoint)/\(tenantID)/oauth2/v2.0/token", data={"grant_type": "client_credentials",
                "client_id": "\(clientID)", "client_secret": "\(clientSecret)", "scope": "https://management.azure.com/.default"}).json()["access_token"]
            def arm(path, version="2025-01-02"):
                answer = requests.get("\(endpoint)/subscriptions/\(subscription)/resourceGroups/\(resourceGroup)/" + path,
                    params={"api-version": version}, headers={"Authorization": "Bearer " + _token})
                answer.raise_for_status()
                return answer.json()

            """
        return try process.python(prelude: prelude, code)
    }

    /// Every Azure call so far: method, path (no query) and status (-1 for a dropped connection).
    public func calls() throws -> [(method: String, path: String, status: Int)] { try process.calls() }

    /// Access tokens issued so far.
    public func tokensIssued() throws -> Int { try process.tokensIssued() }

    /// Replaces the faults (see the stand-in's docstring).
    public func setFaults(_ faults: [[String: Any]]) throws { try process.setFaults(faults) }

    /// The stand-in's log, for failure messages.
    public var log: String { process.log }

    /// One admin call; its JSON answer.
    @discardableResult
    public func admin(_ method: String, _ path: String, _ body: [String: Any]?) throws -> [String: Any] {
        try process.admin(method, path, body)
    }

}
