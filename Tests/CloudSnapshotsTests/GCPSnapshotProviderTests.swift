import CloudCredentials
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudSnapshots

/// The GCP provider against the Compute Engine stand-in, with real tokens.
@Suite("GCPSnapshotProvider on the GCP stand-in", .serialized, .requires(GCPStandIn.isAvailable, Comment(rawValue: GCPStandIn.requirement)))
struct GCPSnapshotProviderTests {
    let gcp: GCPStandIn
    let provider: GCPSnapshotProvider
    let zone = "europe-west1-b"
    let tag = String(UUID().uuidString.prefix(6).lowercased())

    init() throws {
        gcp = try GCPStandIn.shared()
        let tokens = GoogleServiceAccountTokens(key: try GoogleServiceAccountKey.load(path: gcp.keyFile), cache: TokenCache())
        let client = GCPComputeClient(
            project: gcp.project, endpoint: gcp.endpoint, tokens: tokens, retry: EC2RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100)))
        provider = GCPSnapshotProvider(client: client, zone: zone, capturePollInterval: 0.05)
    }

    /// An instance `vm-TAG` with disks `NAME-TAG` attached as `NAME`.
    func instance(_ disks: [String]) throws -> (InstanceInfo, [String]) {
        let names = disks.map { "\($0)-\(tag)" }
        try gcp.createInstance("vm-\(tag)", zone: zone, disks: zip(names, disks).map { GCPStandIn.Disk(name: $0.0, deviceName: $0.1) })
        return (try provider.instance("vm-\(tag)"), names)
    }

    @Test("the instance and its disks are found by exact name, with device names and sizes; an unknown one has barman's message")
    func lookups() throws {
        let (instance, names) = try instance(["pgdata", "data"])
        #expect(instance.id == "vm-\(tag)")
        #expect(instance.providerFacts["project"] == gcp.project)
        let disks = try provider.disks([names[1], names[0]], attachedTo: instance)
        #expect(disks.map(\.id) == [names[1], names[0]], "exact names, in the order asked: 'data' is not 'pgdata'")
        #expect(disks.map(\.deviceName) == ["data", "pgdata"])
        #expect(disks[0].sizeGiB == 10)
        let missing = #expect(throws: SnapfleetError.self) { try provider.instance("nope-\(tag)") }
        #expect(missing?.message == "Cannot find instance with name nope-\(tag) in zone \(zone) for project \(gcp.project)")
        let noDisk = #expect(throws: SnapfleetError.self) { try provider.disks(["ghost-\(tag)"], attachedTo: instance) }
        #expect(noDisk?.message == "Cannot find disk with name ghost-\(tag) in zone \(zone) for project \(gcp.project)")
        try gcp.admin("POST", "/standin/disks", ["project": gcp.project, "zone": zone, "name": "loose-\(tag)", "size_gb": 5])
        let loose = #expect(throws: SnapfleetError.self) { try provider.disks(["loose-\(tag)"], attachedTo: instance) }
        #expect(loose?.message == "Disks not attached to instance vm-\(tag): loose-\(tag)")
    }

    @Test("createSnapshot returns once the snapshot is UPLOADING (contents captured), long before it is READY")
    func returnsWhenCaptured() throws {
        let (instance, names) = try instance(["pgdata"])
        try gcp.setSnapshotBehaviour(disk: names[0], zone: zone, creatingSeconds: 0.3, uploadingSeconds: 3)
        let disk = try #require(try provider.disks(names, attachedTo: instance).first)
        let started = Date()
        let request = SnapshotRequest(name: "\(names[0])-20261207t092801", tags: ["snapfleet_backup_id": "20261207T092801", "team": "db"])
        let snapshot = try provider.createSnapshot(of: disk, request: request)
        let took = Date().timeIntervalSince(started)
        #expect(took >= 0.3 && took < 2, "captured after CREATING, not after the 3 s upload: \(took)")
        #expect(snapshot.state == .pending)
        #expect(snapshot.id == request.name)
        #expect(snapshot.diskID == names[0])
        #expect(try eventually(timeout: .seconds(10), poll: .milliseconds(200)) { try provider.describeSnapshot(snapshot).state == .completed })
        let found = try provider.snapshots(ofBackup: "20261207T092801", disks: [disk])
        #expect(found.map(\.id) == [request.name], "labelled with the backup id, lower-cased as labels must be")
        #expect(try provider.snapshots(ofBackup: "20261207T092801", disks: []).isEmpty)
        try provider.deleteSnapshot(snapshot)
        #expect(throws: SnapfleetError.self) { try provider.describeSnapshot(snapshot) }
        try provider.deleteSnapshot(snapshot)
    }

    @Test("a snapshot that fails is returned in error (to be deleted), and one that fails at create is an error")
    func failedSnapshots() throws {
        let (instance, names) = try instance(["pgdata", "pgwal"])
        let disks = try provider.disks(names, attachedTo: instance)
        try gcp.setSnapshotBehaviour(disk: names[0], zone: zone, creatingSeconds: 0.1, uploadingSeconds: 0.2, outcome: "FAILED")
        let failing = try provider.createSnapshot(of: disks[0], request: SnapshotRequest(name: "\(names[0])-a", tags: [:]))
        #expect(try eventually(timeout: .seconds(10)) { try provider.describeSnapshot(failing).state == .error })
        try provider.deleteSnapshot(failing)
        try gcp.setSnapshotBehaviour(disk: names[1], zone: zone, outcome: "FAILED_AT_CREATE")
        let error = #expect(throws: SnapfleetError.self) {
            try provider.createSnapshot(of: disks[1], request: SnapshotRequest(name: "\(names[1])-b", tags: [:]))
        }
        #expect(error != nil)
    }

    @Test("a createSnapshot whose reply is lost after Compute Engine acted makes one snapshot, not two")
    func lostReplyMakesOne() throws {
        let (instance, names) = try instance(["pgdata"])
        let disk = try #require(try provider.disks(names, attachedTo: instance).first)
        try gcp.setFaults([["path_contains": "/disks/\(names[0])/createSnapshot", "after_acting": true, "status": 503, "count": 1]])
        defer { try? gcp.setFaults([]) }
        let snapshot = try provider.createSnapshot(of: disk, request: SnapshotRequest(name: "\(names[0])-lost", tags: ["snapfleet_backup_id": "x1"]))
        #expect(snapshot.id == "\(names[0])-lost")
        let creates = try gcp.calls().filter { $0.path.hasSuffix("/disks/\(names[0])/createSnapshot") }
        #expect(creates.count == 1, "the lost reply was followed by a lookup, not a second create: \(creates)")
        try provider.deleteSnapshot(snapshot)
    }

    @Test("restore: a disk made from a snapshot and attached is reported with its source snapshot")
    func provisionAndAttached() throws {
        let (instance, names) = try instance(["pgdata"])
        let disk = try #require(try provider.disks(names, attachedTo: instance).first)
        let snapshot = try provider.createSnapshot(of: disk, request: SnapshotRequest(name: "\(names[0])-restore", tags: [:]))
        #expect(try eventually(timeout: .seconds(10)) { try provider.describeSnapshot(snapshot).state == .completed })
        try gcp.createInstance("rec-\(tag)", zone: zone, disks: [])
        let recovery = try provider.instance("rec-\(tag)")
        let attached = try provider.provisionDisk(from: snapshot, deviceName: "pgdata", instance: recovery)
        #expect(attached.deviceName == "pgdata")
        let listed = try provider.attachedDisks(of: recovery)
        #expect(listed.map(\.sourceSnapshotID) == [snapshot.id])
        #expect(listed.map(\.deviceName) == ["pgdata"])
    }
}
