import AWSSigning
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudSnapshots

/// The AWS provider against moto with signing enforced.
@Suite("AWSSnapshotProvider against moto", .requires(MotoServer.isAvailable, Comment(rawValue: MotoServer.requirement)))
struct AWSSnapshotProviderTests {
    let moto: MotoServer
    let provider: AWSSnapshotProvider

    init() throws {
        moto = try MotoServer.shared()
        provider = try AWSSnapshotProvider(
            credentials: Self.credentials(moto, secret: moto.secretAccessKey), region: moto.region, endpoint: moto.endpoint)
    }

    static func credentials(_ moto: MotoServer, secret: String) -> AWSCredentials {
        AWSCredentials(accessKeyID: moto.accessKeyID, secretAccessKey: Redacted(secret))
    }

    /// A name no other test uses (moto is shared by the whole test process).
    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Launches an instance tagged `Name=name`; returns its id.
    func launch(_ name: String) throws -> String {
        try moto.boto3(
            """
            r = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "\(name)"}]}])
            print(r["Instances"][0]["InstanceId"])
            """
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates a volume tagged `Name=name` in the instance's zone, attached as `device` unless nil; returns its id.
    func volume(_ name: String, instance: String, device: String?) throws -> String {
        let attach = device.map { "ec2.attach_volume(VolumeId=v, InstanceId=\"\(instance)\", Device=\"\($0)\")" } ?? ""
        return try moto.boto3(
            """
            az = ec2.describe_instances(InstanceIds=["\(instance)"])["Reservations"][0]["Instances"][0]["Placement"]["AvailabilityZone"]
            v = ec2.create_volume(AvailabilityZone=az, Size=2,
                TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "\(name)"}]}])["VolumeId"]
            \(attach)
            print(v)
            """
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("an instance is found by id and by Name tag, with account, region and zone")
    func instanceByIDAndName() throws {
        let name = Self.unique("pg")
        let id = try launch(name)
        let byID = try provider.instance(id)
        let byName = try provider.instance(name)
        #expect(byID == byName)
        #expect(byID.id == id)
        #expect(byID.name == name)
        #expect(byID.zone?.hasPrefix("us-east-1") == true)
        #expect(byID.providerFacts["region"] == "us-east-1")
        #expect(byID.providerFacts["account_id"]?.count == 12)
    }

    @Test("an unknown instance name or id is not found, with barman-cloud's message")
    func unknownInstance() throws {
        let name = Self.unique("nobody")
        #expect(throws: SnapfleetError(.notFound, "Cannot find instance \(name)")) { try provider.instance(name) }
        #expect(throws: SnapfleetError(.notFound, "Cannot find instance i-0123456789abcdef0")) { try provider.instance("i-0123456789abcdef0") }
    }

    @Test("two instances with one name are refused as ambiguous")
    func ambiguousName() throws {
        let name = Self.unique("twin")
        _ = try launch(name)
        _ = try launch(name)
        let error = try #require(throws: SnapfleetError.self) { try provider.instance(name) }
        #expect(error.message == "Cannot find a unique EC2 reservation containing instance \(name)")
    }

    @Test("a terminated instance is ignored")
    func terminatedIgnored() throws {
        let name = Self.unique("gone")
        let old = try launch(name)
        try moto.boto3("ec2.terminate_instances(InstanceIds=[\"\(old)\"])")
        #expect(throws: SnapfleetError(.notFound, "Cannot find instance \(name)")) { try provider.instance(name) }
        let new = try launch(name)
        #expect(try provider.instance(name).id == new)
    }

    @Test("disks are found by volume id and by Name tag, in the order asked, with their device names")
    func disksByIDAndName() throws {
        let instanceID = try launch(Self.unique("pg"))
        let dataName = Self.unique("pgdata")
        let data = try volume(dataName, instance: instanceID, device: "/dev/sdf")
        let wal = try volume(Self.unique("pgwal"), instance: instanceID, device: "/dev/sdg")
        let instance = try provider.instance(instanceID)
        let disks = try provider.disks([wal, dataName], attachedTo: instance)
        #expect(disks.map(\.id) == [wal, data])
        #expect(disks.map(\.deviceName) == ["/dev/sdg", "/dev/sdf"])
        #expect(disks.map(\.configuredName) == [wal, dataName])
        #expect(disks[0].sizeGiB == 2)
    }

    @Test("a detached disk is an error naming it")
    func detachedDisk() throws {
        let instanceID = try launch(Self.unique("pg"))
        let loose = Self.unique("loose")
        _ = try volume(loose, instance: instanceID, device: nil)
        let instance = try provider.instance(instanceID)
        #expect(throws: SnapfleetError(.notFound, "Disks not attached to instance \(instanceID): \(loose)")) {
            try provider.disks([loose], attachedTo: instance)
        }
    }

    @Test("a snapshot gets the Name tag and the request's tags, completes, and is deleted; deleting it again succeeds")
    func snapshotLifecycle() throws {
        let instanceID = try launch(Self.unique("pg"))
        let diskName = Self.unique("pgdata")
        _ = try volume(diskName, instance: instanceID, device: "/dev/sdf")
        let disk = try #require(try provider.disks([diskName], attachedTo: try provider.instance(instanceID)).first)
        let request = SnapshotRequest(name: "\(diskName)-20240315t021500", tags: ["backup_id": "20240315T021500", "team": "db"])

        let created = try provider.createSnapshot(of: disk, request: request)
        #expect(created.id.hasPrefix("snap-"))
        #expect(created.name == request.name)
        #expect(created.diskID == disk.id)
        #expect(created.state != .error)

        let tags = try moto.boto3(
            """
            s = ec2.describe_snapshots(SnapshotIds=["\(created.id)"])["Snapshots"][0]
            print(json.dumps([[t["Key"], t["Value"]] for t in s["Tags"]]), s["VolumeId"])
            """)
        #expect(tags.contains(#"["Name", "\#(request.name)"]"#), "\(tags)")
        #expect(tags.contains(#"["backup_id", "20240315T021500"]"#) && tags.contains(#"["team", "db"]"#), "\(tags)")
        #expect(tags.contains(disk.id))

        let described = try provider.describeSnapshot(created)
        #expect(described.state == .completed)
        #expect(described.name == request.name)

        try provider.deleteSnapshot(created)
        #expect(throws: SnapfleetError.self) { try provider.describeSnapshot(created) }
        try provider.deleteSnapshot(created)
    }

    @Test("a backup's snapshots are those of its own disks: another server's disk backed up in the same second is not among them")
    func snapshotsOfOneBackupAreItsDisks() throws {
        let backupID = "20240315T0215\(Int.random(in: 10...59))"
        var disks: [DiskInfo] = []
        for server in ["pg1", "pg2"] {
            let instanceID = try launch(Self.unique(server))
            let diskName = Self.unique("\(server)data")
            _ = try volume(diskName, instance: instanceID, device: "/dev/sdf")
            disks.append(try #require(try provider.disks([diskName], attachedTo: try provider.instance(instanceID)).first))
        }
        var created: [SnapshotInfo] = []
        for disk in disks {
            let request = SnapshotRequest(name: "\(disk.configuredName)-\(backupID.lowercased())", tags: ["snapfleet_backup_id": backupID])
            created.append(try provider.createSnapshot(of: disk, request: request))
        }
        defer { for snapshot in created { try? provider.deleteSnapshot(snapshot) } }

        #expect(try provider.snapshots(ofBackup: backupID, disks: [disks[0]]).map(\.id) == [created[0].id])
        #expect(try provider.snapshots(ofBackup: backupID, disks: [disks[1]]).map(\.id) == [created[1].id])
        #expect(try Set(provider.snapshots(ofBackup: backupID, disks: disks).map(\.id)) == Set(created.map(\.id)))
        #expect(try provider.snapshots(ofBackup: backupID, disks: []).isEmpty)
    }

    @Test("a wrong secret gets AuthFailure at once, without retries")
    func wrongSecret() throws {
        let client = try EC2Client(
            credentials: Self.credentials(moto, secret: "wrong"), region: moto.region, endpoint: moto.endpoint,
            retry: EC2RetryPolicy(maxAttempts: 4, baseDelay: .seconds(5)))
        let start = ContinuousClock.now
        let error = try #require(throws: SnapfleetError.self) { try AWSSnapshotProvider(client: client).instance("anything") }
        #expect(error.code == .notAuthorized)
        #expect(error.message.contains("DescribeInstances") && error.message.contains("AuthFailure"), "\(error.message)")
        #expect(!error.retryable)
        #expect(ContinuousClock.now - start < .seconds(4))
        #expect(!error.description.contains("wrong"))
    }
}
