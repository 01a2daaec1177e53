import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// The Azure provider end to end with the real programs: Resource Manager, Entra ID and Blob
/// storage are the stand-in (which checks every token, SharedKey and SAS signature), the disk is
/// a real loop disk holding PostgreSQL, seen by the agent as `/dev/disk/azure/scsi1/lunN`.
@Suite(
    "Azure backups, WAL and restores on the stand-in", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && AzureStandIn.isAvailable,
        "needs the built programs, loop devices and the Azure stand-in"))
struct AzureEndToEndTests {
    @Test(
        "a backup whose snapshot copies for 4 s after it is taken: the window ends when the snapshot exists; DONE with barman's azure backup.info (certificate, shared key)"
    )
    func doneWithShortWindow() throws {
        let scenario = try AzureScenario(credential: .certificate, storage: .sharedKey)
        defer { scenario.tearDown() }
        try scenario.azure.setSnapshotBehaviour(disk: scenario.diskName, acceptSeconds: 0.3, copySeconds: 4)
        let id = try scenario.backup()
        let info = try scenario.blob("catalog/pg1/base/\(id)/backup.info")
        #expect(info.contains("status=DONE\n"), "\(info)")
        let snapshotName = "\(scenario.diskName)-\(id.lowercased())"
        #expect(
            info.contains(
                "snapshots_info={'provider': 'azure', 'provider_info': {'subscription_id': '\(scenario.azure.subscription)', 'resource_group': '\(scenario.azure.resourceGroup)'}, 'snapshots': [{'mount': {'mount_options': 'rw,noatime', 'mount_point': '\(scenario.disk.mountPoint)'}, 'provider': {'location': '\(scenario.azure.location)', 'lun': \(scenario.lun), 'snapshot_name': '\(snapshotName)'}}]}"
            ), "\(info)")
        #expect(try scenario.blob("catalog/pg1/base/\(id)/backup_label").contains("LABEL: snapfleet backup pg1 \(id)"))
        let snapshot = try scenario.azure.python("print(json.dumps(arm('providers/Microsoft.Compute/snapshots/\(snapshotName)')))")
        #expect(snapshot.contains("\"snapfleet_backup_id\": \"\(id)\""), "tagged with the backup id: \(snapshot)")
        #expect(snapshot.contains("\"incremental\": true"), "\(snapshot)")
        let window = try scenario.windowSeconds(id)
        #expect(window < 3, "the window ended when the snapshot existed, not after its 4 s copy: \(window) s")
        if requireAll || BarmanCloud.isAvailable {
            try #require(BarmanCloud.isAvailable, "SNAPFLEET_REQUIRE_ALL=1: barman-cloud (Python 3.12+, scripts/setup) is needed here")
            // Real barman-cloud-backup-show parses the azure backup.info and shows its snapshots as barman's own.
            let shown = try BarmanCloud.show(backupInfo: info, label: try scenario.blob("catalog/pg1/base/\(id)/backup_label"), id: id)
            let snapshots = try #require(shown["snapshots_info"] as? [String: Any], "\(shown)")
            #expect(snapshots["provider"] as? String == "azure")
            #expect((snapshots["provider_info"] as? [String: Any])?["resource_group"] as? String == scenario.azure.resourceGroup)
            let first = try #require((snapshots["snapshots"] as? [[String: Any]])?.first?["provider"] as? [String: Any], "\(snapshots)")
            #expect(first["snapshot_name"] as? String == snapshotName && first["lun"] as? Int == scenario.lun)
            #expect(shown["status"] as? String == "DONE")
        }
    }

    @Test("the snapshot PUT's reply lost after Azure acted: DONE, and the one snapshot made is the one backup.info names")
    func lostReply() throws {
        let scenario = try AzureScenario(credential: .secret, storage: .sharedKey)
        defer { scenario.tearDown() }
        try scenario.azure.setFaults([["method": "PUT", "path_contains": "/snapshots/", "after_acting": true, "status": 503, "count": 1]])
        let id = try scenario.backup()
        let made = try scenario.snapshotNames().filter { $0.hasSuffix(id.lowercased()) }
        #expect(made == ["\(scenario.diskName)-\(id.lowercased())"], "one snapshot, not two: \(made)")
        #expect(try scenario.blob("catalog/pg1/base/\(id)/backup.info").contains("'snapshot_name': '\(made.first ?? "-")'"))
    }

    @Test("WAL archived with user-delegation SAS URLs the stand-in verifies (client secret, no storage key), and fetched back by a promoted standby")
    func walThroughSAS() throws {
        let scenario = try AzureScenario(credential: .secret, storage: .identity)
        defer { scenario.tearDown() }
        try scenario.archiveMarkedSegments()
        let names = try scenario.blobNames("catalog/pg1/wals/")
        #expect(names.filter { $0.hasSuffix(".zst") }.count >= 3, "\(names)")
        let puts = try scenario.azure.calls().filter { $0.method == "PUT" && $0.path.contains("/catalog/pg1/wals/") }
        #expect(!puts.isEmpty && puts.allSatisfy { $0.status == 201 }, "\(puts)")
        try scenario.promoteStandbyFetchingWAL()
        #expect(
            try eventually(timeout: .seconds(30)) { try scenario.blobNames("catalog/pg1/wals/").contains("catalog/pg1/wals/00000002.history.zst") })
        #expect(try scenario.cluster.psql("SELECT count(*) FROM marker") == "503")
    }

    @Test(
        "restore --provision to a point in time: a disk from the snapshot, attached at the recorded LUN, mounted; PostgreSQL recovers exactly its rows"
    )
    func provisionedRestore() throws {
        let scenario = try AzureScenario(credential: .secret, storage: .sharedKey)
        defer { scenario.tearDown() }
        let target = try scenario.backUpThenLoseTheServerPastATarget()

        let refused = try scenario.restore(["--target-time", target])
        #expect(refused.status != 0, "no disk from the snapshot is attached yet: refused")
        #expect(refused.stdout.contains("FAILED  disk from \(scenario.diskName)-"), "\(refused.stdout)")

        let restore = try scenario.restore(["--provision", "--target-time", target, "--target-timeline", "current", "--target-action", "promote"])
        try #require(restore.status == 0, "\(restore.stdout)\(restore.stderr)\n\(scenario.fleet.controller?.log.suffix(2000) ?? "")")
        #expect(restore.stdout.contains("provisioned"), "\(restore.stdout)")
        try scenario.expectRecoveredToTheTarget()
    }

    @Test("a snapshot that fails: FAILED, the snapshot deleted, PostgreSQL out of backup mode; deleting a DONE backup deletes its snapshot and blobs")
    func failureAndDeletion() throws {
        let scenario = try AzureScenario(credential: .secret, storage: .sharedKey)
        defer { scenario.tearDown() }
        let done = try scenario.backup()
        try scenario.azure.setSnapshotBehaviour(disk: scenario.diskName, acceptSeconds: 0.3, outcome: "Failed")
        let failedID = try scenario.failingBackup()
        let info = try scenario.blob("catalog/pg1/base/\(failedID)/backup.info")
        #expect(info.contains("status=FAILED\n"), "\(info)")
        #expect(try scenario.snapshotNames().filter { $0.hasSuffix(failedID.lowercased()) }.isEmpty, "the failed snapshot was deleted")
        try scenario.expectOutOfBackupMode()

        let delete = try scenario.run(["delete-backup", "--config", scenario.fleet.controllerConfig, "pg1", done])
        #expect(delete.status == 0, "\(delete.stdout)\(delete.stderr)")
        #expect(try scenario.snapshotNames().filter { $0.hasSuffix(done.lowercased()) }.isEmpty, "its snapshot is gone from the resource group")
        #expect(try scenario.blobNames("catalog/pg1/base/\(done)/").isEmpty, "and its blobs from the container")
    }
}

/// A loop disk with PostgreSQL on it, attached in the stand-in to VM `pg-<suffix>` at a LUN (the
/// stand-in links `/dev/disk/azure/scsi1/lunN` to its loop device), a container, and a controller
/// and agent configured for them with the credential and storage access asked for.
final class AzureScenario: CloudScenario {
    /// The stand-in's log.
    var standInLog: String { azure.log }
    /// How the controller signs in to Entra ID.
    enum Credential { case secret, certificate }
    /// How it reaches Blob storage: the account key (SharedKey, service SAS) or its identity's tokens (user-delegation SAS).
    enum Storage { case sharedKey, identity }

    let azure: AzureStandIn
    let disk: LoopDisk
    let cluster: PostgresCluster
    let fleet: Fleet
    let suffix = String(UUID().uuidString.prefix(8).lowercased())
    let lun = 40 + Int.random(in: 0...9)
    let agentConfig: String
    var container: String { "catalog-\(suffix)" }
    var diskName: String { "pgdata-\(suffix)" }
    var vm: String { "pg-\(suffix)" }

    init(credential: Credential, storage: Storage) throws {
        azure = try AzureStandIn(attachingDevices: true)
        disk = try LoopDisk(size: "128M", options: ["noatime"])
        fleet = try Fleet()
        chmod(fleet.directory.path, 0o755)
        agentConfig = fleet.directory.file("agent1.yaml")
        cluster = try PostgresCluster(
            settings: ["archive_command": "\(BuiltProducts.path("snapfleet-agent")) wal-push --config \(agentConfig) %p"],
            dataDirectory: disk.mountPoint + "/data", start: false)
        try azure.createContainer(container)
        try azure.createVM(vm, dataDisks: [AzureStandIn.DataDisk(name: diskName, lun: lun, image: disk.imagePath)])
        let secretFile = fleet.directory.file("azure-secret")
        try azure.clientSecret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        let keyFile = fleet.directory.file("azure-storage-key")
        try azure.storageKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
        let identity =
            switch credential {
            case .secret: "tenant_id: \(azure.tenantID)\n  client_id: \(azure.clientID)\n  client_secret_file: \(secretFile)"
            case .certificate:
                "tenant_id: \(azure.tenantID)\n  client_id: \(azure.certificateClientID)\n  client_certificate_file: \(azure.certificatePath)"
            }
        let settings = """
            destination: https://\(azure.storageAccount).blob.core.windows.net/\(container)/catalog
            provider: azure
            snapshot_instance: \(vm)
            snapshot_disks: [\(diskName)]
            wal_compression: zstd
            tags: {team: payments}
            azure:
              subscription_id: \(azure.subscription)
              resource_group: \(azure.resourceGroup)
              \(identity)
              authority_endpoint: \(azure.endpoint)
              management_endpoint: \(azure.endpoint)
              blob_endpoint: \(azure.blobEndpoint)
            """ + (storage == .sharedKey ? "\n  storage_key_file: \(keyFile)" : "")
        try start(settings: settings, agentConfig: agentConfig)
    }

    /// A blob's text, read with azure-storage-blob.
    func blob(_ name: String) throws -> String {
        try azure.python("print(container('\(container)').download_blob('\(name)').readall().decode(), end='')")
    }

    /// The blob names under `prefix`.
    func blobNames(_ prefix: String) throws -> [String] {
        try azure.python("print('\\n'.join(b.name for b in container('\(container)').list_blobs(name_starts_with='\(prefix)')))")
            .split(separator: "\n").map(String.init)
    }

    /// Every snapshot name in the resource group.
    func snapshotNames() throws -> [String] {
        try azure.python("print('\\n'.join(s['name'] for s in arm('providers/Microsoft.Compute/snapshots').get('value', [])))")
            .split(separator: "\n").map(String.init)
    }

    /// PostgreSQL stopped, the disk unmounted and detached from the VM: only the backup is left.
    func loseTheServer() throws {
        try cluster.stop(mode: "immediate")
        try disk.unmount()
        try azure.python(
            """
            import time
            url = "\(azure.endpoint)/subscriptions/\(azure.subscription)/resourceGroups/\(azure.resourceGroup)/providers/Microsoft.Compute/virtualMachines/\(vm)"
            requests.patch(url, params={"api-version": "2024-11-01"}, json={"properties": {"storageProfile": {"dataDisks": []}}},
                headers={"Authorization": "Bearer " + _token}).raise_for_status()
            for _ in range(100):
                if not arm("providers/Microsoft.Compute/virtualMachines/\(vm)", "2024-11-01")["properties"]["storageProfile"]["dataDisks"]:
                    break
                time.sleep(0.1)
            """)
    }

}
