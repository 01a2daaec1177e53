import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// The GCP provider end to end with the real programs: Compute Engine and Cloud Storage are the
/// stand-in (which checks every token and V4 signature), the disk is a real loop disk holding
/// PostgreSQL, seen by the agent as `/dev/disk/by-id/google-<device name>` as on a VM.
@Suite(
    "GCP backups, WAL and restores on the stand-in", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && GCPStandIn.isAvailable,
        "needs the built programs, loop devices and the GCP stand-in"))
struct GCPEndToEndTests {
    @Test("a backup whose snapshot takes 4 s to upload: the window ends when the snapshot is captured; DONE with barman's gcp backup.info")
    func doneWithShortWindow() throws {
        let scenario = try GCPScenario()
        defer { scenario.tearDown() }
        try scenario.gcp.setSnapshotBehaviour(disk: scenario.diskName, zone: scenario.zone, creatingSeconds: 0.3, uploadingSeconds: 4)
        let id = try scenario.backup()
        let info = try scenario.object("catalog/pg1/base/\(id)/backup.info")
        #expect(info.contains("status=DONE\n"), "\(info)")
        let snapshotName = "\(scenario.diskName)-\(id.lowercased())"
        #expect(
            info.contains(
                "snapshots_info={'provider': 'gcp', 'provider_info': {'project': 'snapfleet-test'}, 'snapshots': [{'mount': {'mount_options': 'rw,noatime', 'mount_point': '\(scenario.disk.mountPoint)'}, 'provider': {'device_name': '\(scenario.deviceName)', 'snapshot_name': '\(snapshotName)', 'snapshot_project': 'snapfleet-test'}}]}"
            ), "\(info)")
        #expect(try scenario.object("catalog/pg1/base/\(id)/backup_label").contains("LABEL: snapfleet backup pg1 \(id)"))
        let snapshot = try scenario.gcp.python("print(json.dumps(compute('global/snapshots/\(snapshotName)')))")
        #expect(snapshot.contains("\"status\": \"READY\""), "\(snapshot)")
        #expect(snapshot.contains("\"snapfleet_backup_id\": \"\(id.lowercased())\""), "labelled with the backup id: \(snapshot)")
        let window = try scenario.windowSeconds(id)
        #expect(window < 3, "the window ended at UPLOADING, not after the 4 s upload: \(window) s")
        if requireAll || BarmanCloud.isAvailable {
            try #require(BarmanCloud.isAvailable, "SNAPFLEET_REQUIRE_ALL=1: barman-cloud (Python 3.12+, scripts/setup) is needed here")
            // Real barman-cloud-backup-show parses the gcp backup.info and shows its snapshots as barman's own.
            let shown = try BarmanCloud.show(
                backupInfo: info, label: try scenario.object("catalog/pg1/base/\(id)/backup_label"), id: id)
            let snapshots = try #require(shown["snapshots_info"] as? [String: Any], "\(shown)")
            #expect(snapshots["provider"] as? String == "gcp")
            #expect((snapshots["provider_info"] as? [String: Any])?["project"] as? String == "snapfleet-test")
            let first = try #require((snapshots["snapshots"] as? [[String: Any]])?.first?["provider"] as? [String: Any], "\(snapshots)")
            #expect(first["snapshot_name"] as? String == snapshotName && first["device_name"] as? String == scenario.deviceName)
            #expect(shown["status"] as? String == "DONE")
        }
    }

    @Test("createSnapshot's reply lost after Compute Engine acted: DONE, and the one snapshot made is the one backup.info names")
    func lostReply() throws {
        let scenario = try GCPScenario()
        defer { scenario.tearDown() }
        try scenario.gcp.setFaults([["path_contains": "/createSnapshot", "after_acting": true, "status": 503, "count": 1]])
        let id = try scenario.backup()
        let made = try scenario.snapshotNames().filter { $0.hasSuffix(id.lowercased()) }
        #expect(made == ["\(scenario.diskName)-\(id.lowercased())"], "one snapshot, not two: \(made)")
        #expect(try scenario.object("catalog/pg1/base/\(id)/backup.info").contains("'snapshot_name': '\(made.first ?? "-")'"))
        let creates = try scenario.gcp.calls().filter { $0.path.hasSuffix("/createSnapshot") }
        #expect(creates.map(\.status) == [503], "the lost reply was looked up, not sent again: \(creates)")
    }

    @Test("WAL archived with signed URLs the stand-in verifies, and fetched back by a standby that PostgreSQL promotes")
    func walThroughSignedURLs() throws {
        let scenario = try GCPScenario()
        defer { scenario.tearDown() }
        try scenario.archiveMarkedSegments()
        let names = try scenario.objectNames("catalog/pg1/wals/")
        #expect(names.filter { $0.hasSuffix(".zst") }.count >= 3, "\(names)")
        let signedPuts = try scenario.gcp.calls().filter { $0.method == "PUT" && $0.path.hasPrefix("/\(scenario.bucket)/catalog/pg1/wals/") }
        #expect(!signedPuts.isEmpty && signedPuts.allSatisfy { $0.status == 200 }, "\(signedPuts)")
        try scenario.promoteStandbyFetchingWAL()
        #expect(
            try eventually(timeout: .seconds(30)) { try scenario.objectNames("catalog/pg1/wals/").contains("catalog/pg1/wals/00000002.history.zst") })
        #expect(try scenario.cluster.psql("SELECT count(*) FROM marker") == "503")
    }

    @Test(
        "restore --provision to a point in time: a disk from the snapshot, attached as /dev/disk/by-id/google-*, mounted; PostgreSQL recovers exactly its rows"
    )
    func provisionedRestore() throws {
        let scenario = try GCPScenario()
        defer { scenario.tearDown() }
        let target = try scenario.backUpThenLoseTheServerPastATarget()

        let refused = try scenario.restore(["--target-time", target])
        #expect(refused.status != 0, "no disk from the snapshot is attached yet: refused")
        #expect(refused.stdout.contains("FAILED  disk from \(scenario.diskName)-"), "\(refused.stdout)")

        let restore = try scenario.restore(["--provision", "--target-time", target, "--target-timeline", "current", "--target-action", "promote"])
        try #require(restore.status == 0, "\(restore.stdout)\(restore.stderr)\n\(scenario.fleet.controller?.log.suffix(2000) ?? "")")
        #expect(restore.stdout.contains("provisioned  \(scenario.diskName)-"), "\(restore.stdout)")
        try scenario.expectRecoveredToTheTarget()
    }

    @Test(
        "a snapshot that fails: FAILED, the snapshot deleted, PostgreSQL out of backup mode; deleting a DONE backup deletes its snapshot and objects")
    func failureAndDeletion() throws {
        let scenario = try GCPScenario()
        defer { scenario.tearDown() }
        let done = try scenario.backup()
        try scenario.gcp.setSnapshotBehaviour(
            disk: scenario.diskName, zone: scenario.zone, creatingSeconds: 0.2, uploadingSeconds: 0.5, outcome: "FAILED")
        let failedID = try scenario.failingBackup()
        let info = try scenario.object("catalog/pg1/base/\(failedID)/backup.info")
        #expect(info.contains("status=FAILED\n") && info.contains("error=failure snapshot completion"), "\(info)")
        #expect(try scenario.snapshotNames().filter { $0.hasSuffix(failedID.lowercased()) }.isEmpty, "the failed snapshot was deleted")
        try scenario.expectOutOfBackupMode()

        let delete = try scenario.run(["delete-backup", "--config", scenario.fleet.controllerConfig, "pg1", done])
        #expect(delete.status == 0, "\(delete.stdout)\(delete.stderr)")
        #expect(try scenario.snapshotNames().filter { $0.hasSuffix(done.lowercased()) }.isEmpty, "its snapshot is gone from Compute Engine")
        #expect(try scenario.objectNames("catalog/pg1/base/\(done)/").isEmpty, "and its objects from the bucket")
    }
}

/// A loop disk with PostgreSQL on it, attached in the stand-in to instance `pg-<suffix>` as
/// device `pgdata-<suffix>` (the stand-in links `/dev/disk/by-id/google-pgdata-<suffix>` to its
/// loop device), a bucket, and a controller and agent configured for them.
final class GCPScenario: CloudScenario {
    /// The stand-in's log.
    var standInLog: String { gcp.log }
    let gcp: GCPStandIn
    let disk: LoopDisk
    let cluster: PostgresCluster
    let fleet: Fleet
    let suffix = String(UUID().uuidString.prefix(8).lowercased())
    let zone = "europe-west1-b"
    let agentConfig: String
    var bucket: String { "catalog-\(suffix)" }
    var diskName: String { "pgdata-\(suffix)" }
    var deviceName: String { "pgdata-\(suffix)" }
    var instance: String { "pg-\(suffix)" }

    init() throws {
        gcp = try GCPStandIn(attachingDevices: true)
        disk = try LoopDisk(size: "128M", options: ["noatime"])
        fleet = try Fleet()
        chmod(fleet.directory.path, 0o755)
        agentConfig = fleet.directory.file("agent1.yaml")
        cluster = try PostgresCluster(
            settings: ["archive_command": "\(BuiltProducts.path("snapfleet-agent")) wal-push --config \(agentConfig) %p"],
            dataDirectory: disk.mountPoint + "/data", start: false)
        try gcp.createBucket(bucket)
        try gcp.createInstance(instance, zone: zone, disks: [GCPStandIn.Disk(name: diskName, deviceName: deviceName, image: disk.imagePath)])
        let settings = """
            destination: gs://\(bucket)/catalog
            provider: gcp
            snapshot_instance: \(instance)
            snapshot_disks: [\(diskName)]
            wal_compression: zstd
            tags: {team: payments}
            gcp:
              project: \(gcp.project)
              zone: \(zone)
              credentials_file: \(gcp.keyFile)
              compute_endpoint: \(gcp.endpoint)
              storage_endpoint: \(gcp.endpoint)
            """
        try start(settings: settings, agentConfig: agentConfig)
    }

    /// An object's text, read with google-cloud-storage.
    func object(_ name: String) throws -> String {
        try gcp.python("print(storage.bucket('\(bucket)').blob('\(name)').download_as_bytes().decode(), end='')")
    }

    /// The object names under `prefix`.
    func objectNames(_ prefix: String) throws -> [String] {
        try gcp.python("print('\\n'.join(b.name for b in storage.list_blobs('\(bucket)', prefix='\(prefix)')))")
            .split(separator: "\n").map(String.init)
    }

    /// Every snapshot name in the project.
    func snapshotNames() throws -> [String] {
        try gcp.python("print('\\n'.join(s['name'] for s in compute('global/snapshots').get('items', [])))").split(separator: "\n").map(String.init)
    }

    /// PostgreSQL stopped, the disk unmounted and detached from the instance: only the backup is left.
    func loseTheServer() throws {
        try cluster.stop(mode: "immediate")
        try disk.unmount()
        try gcp.python(
            """
            _session.post("\(gcp.endpoint)/compute/v1/projects/\(gcp.project)/zones/\(zone)/instances/\(instance)/detachDisk?deviceName=\(deviceName)").raise_for_status()
            """)
    }

}
