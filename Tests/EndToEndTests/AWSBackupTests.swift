import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// `snapfleet-controller backup` with the AWS provider against moto (EC2 and S3, signing
/// enforced): the instance and volume exist in moto, the volume's device name resolves on
/// this host to a real loop disk holding PostgreSQL, and the catalog goes to an S3 bucket.
@Suite(
    "AWS snapshot backups on moto", .serialized,
    .enabled(
        if: BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && MotoServer.isAvailable,
        "needs the built programs, loop devices and moto"))
struct AWSBackupTests {
    /// A `/dev/sdX` name that does not exist on this host (nor its xvd rename).
    private static func unusedDeviceName() -> String? {
        "qrstuvwxyz".map { "sd\($0)" }.first { name in
            !FileManager.default.fileExists(atPath: "/dev/\(name)") && !FileManager.default.fileExists(atPath: "/dev/xvd\(name.dropFirst(2))")
        }
    }

    @Test("a DONE backup: EBS snapshot tagged as barman names it, backup.info and backup_label in the bucket")
    func done() throws {
        let moto = try MotoServer.shared()
        let disk = try LoopDisk(size: "128M", options: ["noatime"])
        defer { try? disk.detach() }
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        defer { try? cluster.stop() }
        let device = try #require(Self.unusedDeviceName())
        // The host sees the EBS volume under its attachment name, as a real instance would.
        try FileManager.default.createSymbolicLink(atPath: "/dev/\(device)", withDestinationPath: disk.devicePath)
        defer { unlink("/dev/\(device)") }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let bucket = "snapfleet-\(suffix)"
        try moto.boto3(
            """
            s3.create_bucket(Bucket="\(bucket)")
            run = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1a"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "pg-\(suffix)"}]}])
            instance = run["Instances"][0]["InstanceId"]
            volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1,
                TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "pgdata-\(suffix)"}]}])["VolumeId"]
            ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/\(device)")
            """)
        let fleet = try Fleet()
        let settings = """
            destination: s3://\(bucket)/catalog
            provider: aws
            snapshot_instance: pg-\(suffix)
            snapshot_disks: [pgdata-\(suffix)]
            tags: {team: payments}
            aws:
              region: \(moto.region)
              endpoint_url: \(moto.endpoint)
            """
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings])
        // Credentials reach the controller only, through the standard chain (environment).
        try fleet.startController(environment: ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey])
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        #expect(try eventually(timeout: .seconds(15)) { try fleet.agent("pg1")?["postgres_available"] == .bool(true) })

        let check = try Shell.run([BuiltProducts.path("snapfleet-controller"), "check", "--config", fleet.controllerConfig, "pg1"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let output = try Shell.run([
            BuiltProducts.path("snapfleet-controller"), "backup", "--config", fleet.controllerConfig, "pg1", "--immediate-checkpoint",
        ])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)\n\(fleet.controller?.log.suffix(3000) ?? "")")
        let id = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let stored = try moto.boto3(
            """
            info = s3.get_object(Bucket="\(bucket)", Key="catalog/pg1/base/\(id)/backup.info")["Body"].read().decode()
            label = s3.get_object(Bucket="\(bucket)", Key="catalog/pg1/base/\(id)/backup_label")["Body"].read().decode()
            snaps = ec2.describe_snapshots(Filters=[{"Name": "tag:Name", "Values": ["pgdata-\(suffix)-\(id.lowercased())"]}])["Snapshots"]
            print(json.dumps({"info": info, "label": label, "tags": [s.get("Tags", []) for s in snaps]}))
            """)
        let result = try JSONDecoder().decode(Stored.self, from: Data(stored.utf8))
        #expect(result.info.contains("status=DONE\n"), "\(result.info)")
        #expect(result.info.contains("'provider': 'aws'"))
        #expect(result.info.contains("'device_name': '/dev/\(device)'"))
        #expect(result.info.contains("'mount_point': '\(disk.mountPoint)'"))
        #expect(result.label.contains("LABEL: snapfleet backup pg1 \(id)"))
        #expect(result.tags.count == 1, "one snapshot named <disk>-<backup id lower-cased>")
        let tags = Dictionary(uniqueKeysWithValues: (result.tags.first ?? []).map { ($0.Key, $0.Value) })
        #expect(tags["team"] == "payments")
        #expect(tags["snapfleet_backup_id"] == id)
    }

    struct Stored: Decodable {
        struct Tag: Decodable {
            let Key: String
            let Value: String
        }

        let info: String
        let label: String
        let tags: [[Tag]]
    }
}
