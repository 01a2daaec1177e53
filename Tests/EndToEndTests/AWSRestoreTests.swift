import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// A restore through the AWS code path on moto, with real data: the moto extension makes
/// `CreateSnapshot` a point-in-time copy of the disk image, gives a volume created from the
/// snapshot that content, and makes an attached volume appear as its device, so `restore
/// --provision` creates, attaches and mounts a real disk and PostgreSQL recovers on it.
@Suite(
    "AWS restores on moto", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && MotoServer.isAvailable,
        "needs the built programs, loop devices and moto"))
struct AWSRestoreTests {
    @Test("restore --provision to a point in time: a volume from the snapshot, attached and mounted; PostgreSQL recovers exactly its rows")
    func provisionedPointInTimeRestore() throws {
        let setup = try AWSRestoreSetup()
        defer { setup.tearDown() }
        try setup.cluster.psql("CREATE TABLE marker (id serial, note text); INSERT INTO marker (note) VALUES ('before the backup')")
        let backup = try Shell.run(
            [BuiltProducts.path("snapfleet-controller"), "backup", "--config", setup.fleet.controllerConfig, "pg1", "--immediate-checkpoint"])
        try #require(backup.status == 0, "\(backup.stderr)\n\(setup.fleet.controller?.log.suffix(3000) ?? "")")
        try setup.cluster.psql("INSERT INTO marker (note) VALUES ('after the backup')")
        let target = try setup.cluster.psql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US+00')")
        Thread.sleep(forTimeInterval: 1.1)
        try setup.cluster.psql("INSERT INTO marker (note) VALUES ('after the target')")
        try setup.cluster.switchAndWaitArchived()
        try setup.loseTheServer()

        let restore = try Shell.run(
            [
                BuiltProducts.path("snapfleet-controller"), "restore", "--config", setup.fleet.controllerConfig, "pg1", "latest",
                "--recovery-server", "pg1", "--provision", "--target-time", target, "--target-timeline", "current", "--target-action", "promote",
            ])
        try #require(restore.status == 0, "\(restore.stdout)\(restore.stderr)\n\(setup.fleet.controller?.log.suffix(2000) ?? "")")
        #expect(restore.stdout.contains("provisioned  vol-"), "\(restore.stdout)")
        #expect(restore.stdout.contains("OK      disk from snap-"), "\(restore.stdout)")
        if requireAll || BarmanCloud.isAvailable {
            try #require(BarmanCloud.isAvailable, "SNAPFLEET_REQUIRE_ALL=1: barman-cloud (Python 3.12+, scripts/setup) is needed here")
            // barman-cloud-restore accepts the same backup on the host snapfleet prepared (its own checks
            // of instance, disks and mounts pass) and writes the same backup_label.
            let label = try String(contentsOfFile: setup.cluster.dataDirectory + "/backup_label", encoding: .utf8)
            let id = try #require(restore.stdout.split(separator: " ").first { $0.count == 15 && $0.dropFirst(8).hasPrefix("T") })
            let barman = try BarmanCloud.run(
                "restore",
                ["--snapshot-recovery-instance", setup.instance, "s3://\(setup.bucket)/catalog", "pg1", String(id), setup.cluster.dataDirectory],
                moto: setup.moto)
            #expect(barman.status == 0, "\(barman.stdout)\(barman.stderr)")
            #expect(try String(contentsOfFile: setup.cluster.dataDirectory + "/backup_label", encoding: .utf8) == label)
        }
        do { try setup.cluster.start() } catch {
            let listing = (try? Shell.run(["ls", "-la", setup.cluster.dataDirectory, setup.disk.mountPoint]).stdout) ?? ""
            Issue.record(
                "PostgreSQL did not start on the restored disk:\n\(restore.stdout)\n\(listing)\n\(try Shell.run(["findmnt"]).stdout.suffix(1500))")
            throw error
        }
        #expect(try eventually(timeout: .seconds(60)) { (try? setup.cluster.psql("SELECT pg_is_in_recovery()")) == "f" })
        #expect(try setup.cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM marker") == "before the backup,after the backup")
    }
}

extension AWSRestoreTests {
    @Test(
        "restore --provision of a backup barman-cloud-backup --snapshot-instance took: PostgreSQL recovers every archived row",
        .requires(BarmanCloud.isAvailable, "needs barman-cloud (Python 3.12+, scripts/setup)"))
    func restoresABarmanBackup() throws {
        let setup = try AWSRestoreSetup()
        defer { setup.tearDown() }
        try setup.cluster.psql("CREATE TABLE marker (id serial, note text); INSERT INTO marker (note) VALUES ('before the backup')")
        let barman = try BarmanCloud.snapshotBackup(
            of: setup.cluster, instance: setup.instance, disk: setup.volume, destination: "s3://\(setup.bucket)/catalog", server: "pg1",
            moto: setup.moto)
        try #require(barman.status == 0, "\(barman.stdout)\(barman.stderr)")
        try setup.cluster.psql("INSERT INTO marker (note) VALUES ('after the backup')")
        try setup.cluster.switchAndWaitArchived()
        try setup.loseTheServer()

        let restore = try Shell.run(
            [
                BuiltProducts.path("snapfleet-controller"), "restore", "--config", setup.fleet.controllerConfig, "pg1", "latest",
                "--recovery-server", "pg1", "--provision", "--target-action", "promote",
            ])
        try #require(restore.status == 0, "\(restore.stdout)\(restore.stderr)\n\(setup.fleet.controller?.log.suffix(2000) ?? "")")
        #expect(restore.stdout.contains("OK      disk from snap-"), "\(restore.stdout)")
        try setup.cluster.start()
        #expect(try eventually(timeout: .seconds(60)) { (try? setup.cluster.psql("SELECT pg_is_in_recovery()")) == "f" })
        #expect(try setup.cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM marker") == "before the backup,after the backup")
    }
}

/// PostgreSQL on a loop disk that moto knows as an attached EBS volume (`/dev/sdX` on this host),
/// archiving through `wal-push` into an S3 bucket, with a controller and an agent allowed to mount.
final class AWSRestoreSetup {
    let moto: MotoServer
    let disk: LoopDisk
    let cluster: PostgresCluster
    let fleet: Fleet
    let device: String
    let bucket: String
    let volume: String
    let instance: String

    init() throws {
        moto = try MotoServer(enforcingSignatures: false, attachingDevices: true)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        bucket = "restore-\(suffix)"
        disk = try LoopDisk(size: "128M", options: ["noatime"])
        fleet = try Fleet()
        chmod(fleet.directory.path, 0o755)
        let agentConfig = fleet.directory.file("agent1.yaml")
        cluster = try PostgresCluster(
            settings: ["archive_command": "\(BuiltProducts.path("snapfleet-agent")) wal-push --config \(agentConfig) %p"],
            dataDirectory: disk.mountPoint + "/data", start: false)
        guard let name = DeviceNames.unusedSCSIName() else { throw FleetError("no free /dev/sdX name") }
        device = name
        try FileManager.default.createSymbolicLink(atPath: "/dev/\(device)", withDestinationPath: disk.devicePath)
        // The image tag comes after the attachment: the original disk is already on its loop device.
        let ids = try moto.boto3(
            """
            s3.create_bucket(Bucket="\(bucket)")
            run = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1a"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "pg-\(suffix)"}]}])
            instance = run["Instances"][0]["InstanceId"]
            volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1,
                TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "pgdata-\(suffix)"}]}])["VolumeId"]
            ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/\(device)")
            ec2.create_tags(Resources=[volume], Tags=[{"Key": "snapfleet-test:image", "Value": "\(disk.imagePath)"}])
            print(instance, volume)
            """
        ).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        instance = ids[0]
        volume = ids[1]
        let settings = """
            destination: s3://\(bucket)/catalog
            provider: aws
            snapshot_instance: pg-\(suffix)
            snapshot_disks: [pgdata-\(suffix)]
            wal_compression: zstd
            aws:
              region: \(moto.region)
              endpoint_url: \(moto.endpoint)
            """
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings])
        try fleet.startController(environment: ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey])
        _ = try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo)
        try "allow_mount: true\n".appendLine(to: agentConfig)
        try cluster.start()
        try fleet.startAgent(config: agentConfig, name: "agent1")
        try fleet.waitForAgent()
    }

    /// PostgreSQL stopped, the disk unmounted and detached from the instance: only the backup is left.
    func loseTheServer() throws {
        try cluster.stop(mode: "immediate")
        try disk.unmount()
        unlink("/dev/\(device)")
        try moto.boto3("ec2.detach_volume(VolumeId=\"\(volume)\", InstanceId=\"\(instance)\", Device=\"/dev/\(device)\")")
    }

    /// Stops PostgreSQL and detaches every volume still attached (the extension removes their devices).
    func tearDown() {
        fleet.stop()
        if cluster.isRunning { try? cluster.stop(mode: "immediate") }
        _ = try? Shell.run(["umount", disk.mountPoint])
        _ = try? moto.boto3(
            """
            for v in ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": ["\(instance)"]}])["Volumes"]:
                for a in v["Attachments"]:
                    ec2.detach_volume(VolumeId=v["VolumeId"], InstanceId=a["InstanceId"], Device=a["Device"])
            """)
        unlink("/dev/\(device)")
        try? disk.detach()
    }
}
