import AWSSigning
import CloudXML
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudSnapshots

/// The cloud acted, then its reply was lost (an EC2 fault proxy forwards the request to moto and
/// answers 503, or resets the connection): a creation is looked up before it is ever tried again,
/// so nothing is made twice and nothing made goes unseen.
@Suite("AWS creations whose reply was lost", .serialized, .requires(MotoServer.isAvailable, Comment(rawValue: MotoServer.requirement)))
struct AWSLostReplyTests {
    let moto: MotoServer
    let proxy: EC2FaultProxy
    let provider: AWSSnapshotProvider

    init() throws {
        moto = try MotoServer.shared()
        proxy = try EC2FaultProxy(upstream: moto)
        let credentials = AWSCredentials(accessKeyID: moto.accessKeyID, secretAccessKey: Redacted(moto.secretAccessKey))
        let client = try EC2Client(
            credentials: credentials, region: moto.region, endpoint: proxy.endpoint,
            retry: EC2RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100)))
        provider = AWSSnapshotProvider(client: client)
    }

    /// An instance with one volume attached as /dev/sdf; the provider's view of both.
    func instanceWithDisk() throws -> (InstanceInfo, DiskInfo) {
        let name = "lost-\(UUID().uuidString.prefix(8).lowercased())"
        let ids = try moto.boto3(
            """
            i = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1a"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "\(name)"}]}])["Instances"][0]["InstanceId"]
            v = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1,
                TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "\(name)-disk"}]}])["VolumeId"]
            ec2.attach_volume(VolumeId=v, InstanceId=i, Device="/dev/sdf")
            print(i)
            """
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let instance = try provider.instance(ids)
        let disk = try #require(try provider.disks(["\(name)-disk"], attachedTo: instance).first)
        return (instance, disk)
    }

    /// The ids of the snapshots of `volume` as moto holds them.
    func snapshots(of volume: String) throws -> [String] {
        try moto.boto3(
            """
            found = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": ["\(volume)"]}])["Snapshots"]
            print(" ".join(s["SnapshotId"] for s in found))
            """
        ).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    func request(_ disk: DiskInfo) -> SnapshotRequest {
        SnapshotRequest(name: "\(disk.configuredName)-20251125t213000", tags: ["snapfleet_backup_id": "20251125T213000"])
    }

    @Test("CreateSnapshot answered 503 after moto made the snapshot: that snapshot is returned, none made twice")
    func createSnapshotReplyLost() throws {
        let (_, disk) = try instanceWithDisk()
        try proxy.setFaults([["action": "CreateSnapshot", "after_forward": "status", "status": 503, "count": 1]])
        let created = try provider.createSnapshot(of: disk, request: request(disk))
        #expect(try snapshots(of: disk.id) == [created.id], "exactly the one snapshot moto made, and it is the one returned")
        #expect(proxy.log.contains("answered 503"), "\(proxy.log)")
        #expect(proxy.log.components(separatedBy: "CreateSnapshot/POST").count - 1 == 1, "CreateSnapshot was sent once: \(proxy.log)")
    }

    @Test("CreateSnapshot's connection reset after moto acted: the snapshot is found by its tags")
    func createSnapshotConnectionReset() throws {
        let (_, disk) = try instanceWithDisk()
        try proxy.setFaults([["action": "CreateSnapshot", "after_forward": "reset", "count": 1]])
        let created = try provider.createSnapshot(of: disk, request: request(disk))
        #expect(try snapshots(of: disk.id) == [created.id])
    }

    @Test("a CreateSnapshot refused before it reached moto is tried again once nothing is found")
    func createSnapshotRefusedIsRetried() throws {
        let (_, disk) = try instanceWithDisk()
        try proxy.setFaults([["action": "CreateSnapshot", "status": 503, "count": 2]])
        let created = try provider.createSnapshot(of: disk, request: request(disk))
        #expect(try snapshots(of: disk.id) == [created.id])
        #expect(proxy.log.components(separatedBy: "CreateSnapshot/POST").count - 1 == 3, "two refused, the third made it: \(proxy.log)")
    }

    @Test("--provision: CreateVolume and AttachVolume answered 503 after acting: one volume, made from the snapshot, attached once")
    func provisionRepliesLost() throws {
        let (instance, disk) = try instanceWithDisk()
        let snapshot = try provider.createSnapshot(of: disk, request: request(disk))
        try proxy.setFaults([
            ["action": "CreateVolume", "after_forward": "status", "status": 503, "count": 1],
            ["action": "AttachVolume", "after_forward": "reset", "count": 1],
        ])
        let attached = try provider.provisionDisk(from: snapshot, deviceName: "/dev/sdg", instance: instance)
        let made = try moto.boto3(
            """
            found = ec2.describe_volumes(Filters=[{"Name": "snapshot-id", "Values": ["\(snapshot.id)"]}])["Volumes"]
            print(json.dumps([[v["VolumeId"], [a["InstanceId"] + " " + a["Device"] for a in v["Attachments"]]] for v in found]))
            """
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(made == #"[["\#(attached.id)", ["\#(instance.id) /dev/sdg"]]]"#, "one volume from the snapshot, attached as asked: \(made)")
        #expect(attached.sourceSnapshotID == snapshot.id)
    }

    @Test("a snapshot in error in CreateSnapshot's own answer is returned as such, to be deleted, not dropped")
    func errorAtCreate() throws {
        let (_, disk) = try instanceWithDisk()
        try moto.boto3(
            "ec2.create_tags(Resources=[\"\(disk.id)\"], Tags=[{\"Key\": \"\(MotoServer.VolumeTag.outcome)\", \"Value\": \"error-at-create\"}])")
        let created = try provider.createSnapshot(of: disk, request: request(disk))
        #expect(created.state == .error)
        #expect(created.failure != nil)
        #expect(try snapshots(of: disk.id) == [created.id], "it exists: the caller must delete or record it")
    }

    @Test(
        "EC2 states: recovering is waited for, recoverable is lost, completed is usable",
        arguments: [("recovering", SnapshotState.pending), ("recoverable", .error)])
    func documentedStates(outcome: String, expected: SnapshotState) throws {
        let (_, disk) = try instanceWithDisk()
        try moto.boto3(
            """
            ec2.create_tags(Resources=["\(disk.id)"], Tags=[{"Key": "\(MotoServer.VolumeTag.outcome)", "Value": "\(outcome)"},
                {"Key": "\(MotoServer.VolumeTag.pendingSeconds)", "Value": "\(outcome == "recovering" ? "30" : "0")"}])
            """)
        let created = try provider.createSnapshot(of: disk, request: request(disk))
        let described = try provider.describeSnapshot(created)
        #expect(described.state == expected, "EC2 state \(outcome)")
        if expected == .error { #expect(described.failure?.contains("Recycle Bin") == true) }
    }

    @Test("states EC2 may add later are waited for, never taken as complete")
    func unknownState() throws {
        var snapshot = EC2Snapshot(xml: try XMLTree.parse(Array("<item><snapshotId>snap-1</snapshotId></item>".utf8)))
        snapshot.state = "archiving-someday"
        #expect(AWSSnapshotProvider.info(snapshot, name: "x").state == .pending)
        snapshot.state = "completed"
        #expect(AWSSnapshotProvider.info(snapshot, name: "x").state == .completed)
    }
}
