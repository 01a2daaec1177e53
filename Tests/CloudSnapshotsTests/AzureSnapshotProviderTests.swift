import CloudCredentials
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudSnapshots

/// The Azure provider against the Resource Manager stand-in, with real Entra ID tokens.
@Suite("AzureSnapshotProvider on the Azure stand-in", .serialized, .requires(AzureStandIn.isAvailable, Comment(rawValue: AzureStandIn.requirement)))
struct AzureSnapshotProviderTests {
    let azure: AzureStandIn
    let provider: AzureSnapshotProvider
    let tag = String(UUID().uuidString.prefix(6).lowercased())

    init() throws {
        azure = try AzureStandIn.shared()
        let tokens = AzureClientSecretTokens(
            tenantID: azure.tenantID, clientID: azure.clientID, secret: Redacted(azure.clientSecret), resource: azureManagementResource,
            authority: azure.endpoint, cache: TokenCache())
        let client = AzureComputeClient(
            subscription: azure.subscription, resourceGroup: azure.resourceGroup, endpoint: azure.endpoint, tokens: tokens,
            retry: EC2RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100)), maxPollInterval: 0.1)
        provider = AzureSnapshotProvider(client: client)
    }

    /// A VM `vm-TAG` with disks `NAME-TAG` at LUNs 0, 1, …; its InstanceInfo, the disk names and the VM's JSON.
    @discardableResult
    func vm(_ disks: [String], name: String? = nil) throws -> (InstanceInfo, [String], [String: Any]) {
        let names = disks.map { "\($0)-\(tag)" }
        let vmName = name ?? "vm-\(tag)"
        let json = try azure.createVM(vmName, dataDisks: names.enumerated().map { AzureStandIn.DataDisk(name: $1, lun: $0) })
        return (try provider.instance(vmName), names, json)
    }

    /// The request barman would make for a disk: `<disk>-<backup id lower-cased>`, tagged with the backup id.
    func request(_ disk: String, _ backupID: String, tags: [String: String] = [:]) -> SnapshotRequest {
        SnapshotRequest(name: "\(disk)-\(backupID.lowercased())", tags: tags.merging([AzureSnapshotProvider.backupTag: backupID]) { $1 })
    }

    @Test("the VM and its data disks are found by name, with LUNs, ids and sizes; the OS disk and unknown names have barman's messages")
    func lookups() throws {
        try azure.setFaults([["method": "GET", "path_contains": "/virtualMachines/vm-\(tag)", "status": 429, "count": 1]])
        defer { try? azure.setFaults([]) }
        let (instance, names, json) = try vm(["pgdata", "pgwal"])
        #expect(instance.id == "vm-\(tag)")
        #expect(instance.zone == azure.location)
        #expect(instance.providerFacts == ["subscription_id": azure.subscription, "resource_group": azure.resourceGroup])
        let disks = try provider.disks([names[1], names[0]], attachedTo: instance)
        #expect(disks.map(\.configuredName) == [names[1], names[0]])
        #expect(disks.map(\.deviceName) == ["lun1", "lun0"])
        #expect(
            disks[0].id.lowercased()
                == "/subscriptions/\(azure.subscription)/resourcegroups/\(azure.resourceGroup)/providers/microsoft.compute/disks/\(names[1])")
        #expect(disks[0].sizeGiB == 10)
        #expect(disks[0].providerFacts == ["location": azure.location, "lun": "1"])
        let where_ = "in resource group \(azure.resourceGroup) in subscription \(azure.subscription)"
        let missing = #expect(throws: SnapfleetError.self) { try provider.instance("nope-\(tag)") }
        #expect(missing?.message == "Cannot find instance with name nope-\(tag) \(where_)")
        #expect(missing?.code == .notFound)
        let noDisk = #expect(throws: SnapfleetError.self) { try provider.disks(["ghost-\(tag)"], attachedTo: instance) }
        #expect(noDisk?.message == "Cannot find disk with name ghost-\(tag) \(where_)")
        try azure.createDisk("loose-\(tag)")
        let properties = json["properties"] as? [String: Any]
        let osDisk = try #require(((properties?["storageProfile"] as? [String: Any])?["osDisk"] as? [String: Any])?["name"] as? String)
        let loose = #expect(throws: SnapfleetError.self) { try provider.disks(["loose-\(tag)", osDisk], attachedTo: instance) }
        #expect(loose?.message == "Disks not attached to instance vm-\(tag): loose-\(tag), \(osDisk)", "only data disks count")
        #expect(try azure.calls().filter { $0.path.hasSuffix("/virtualMachines/vm-\(tag)") }.first?.status == 429, "throttled, then retried")
    }

    @Test("createSnapshot returns once the create operation succeeded, while the background copy still runs")
    func returnsWhenContentsAreFixed() throws {
        let (instance, names, _) = try vm(["pgdata"])
        try azure.setSnapshotBehaviour(disk: names[0], acceptSeconds: 0.5, copySeconds: 3)
        let disk = try #require(try provider.disks(names, attachedTo: instance).first)
        let started = Date()
        let request = request(names[0], "20261207T092801", tags: ["team": "db"])
        let snapshot = try provider.createSnapshot(of: disk, request: request)
        let took = Date().timeIntervalSince(started)
        #expect(took >= 0.5 && took < 2.5, "after the operation, not after the 3 s copy: \(took)")
        #expect(snapshot.state == .pending)
        #expect((snapshot.progressPercent ?? 100) < 100)
        #expect(snapshot.id == request.name && snapshot.name == request.name)
        #expect(snapshot.diskID.lowercased() == disk.id.lowercased())
        let early = #expect(throws: SnapfleetError.self) {
            try provider.provisionDisk(from: snapshot, deviceName: "lun0", instance: instance)
        }
        #expect(early?.retryable == true && early?.message.contains("is not available yet") == true, "\(early?.message ?? "")")
        #expect(try eventually(timeout: .seconds(10), poll: .milliseconds(200)) { try provider.describeSnapshot(snapshot).state == .completed })
        let found = try provider.snapshots(ofBackup: "20261207T092801", disks: [disk])
        #expect(found.map(\.id) == [request.name], "tagged with the backup id as it is")
        #expect(try provider.snapshots(ofBackup: "20261207T092801", disks: []).isEmpty)
        try provider.deleteSnapshot(snapshot)
        let gone = #expect(throws: SnapfleetError.self) { try provider.describeSnapshot(snapshot) }
        #expect(gone?.code == .notFound)
        try provider.deleteSnapshot(snapshot)
    }

    @Test(
        "a create operation that fails returns the snapshot in error (to be deleted); a refused PUT is an error; a deletion waits for a running creation"
    )
    func failedSnapshots() throws {
        let (instance, names, _) = try vm(["pgdata", "pgwal", "pgtbs"])
        let disks = try provider.disks(names, attachedTo: instance)
        try azure.setSnapshotBehaviour(disk: names[0], acceptSeconds: 0.2, outcome: "Failed")
        let failing = try provider.createSnapshot(of: disks[0], request: request(names[0], "f1"))
        #expect(failing.state == .error)
        #expect(failing.failure?.contains("InternalDiskManagementError") == true, "\(failing.failure ?? "")")
        #expect(try provider.describeSnapshot(failing).state == .error)
        try provider.deleteSnapshot(failing)
        try azure.setSnapshotBehaviour(disk: names[1], outcome: "FailedAtCreate")
        let refused = #expect(throws: SnapfleetError.self) { try provider.createSnapshot(of: disks[1], request: request(names[1], "f2")) }
        #expect(refused?.message.contains("OperationNotAllowed") == true, "\(refused?.message ?? "")")
        try azure.setSnapshotBehaviour(disk: names[2], acceptSeconds: 1)
        let name = "\(names[2])-f3"
        _ = try provider.client.createSnapshot(name: name, location: azure.location, diskID: disks[2].id, tags: [:])
        try provider.deleteSnapshot(SnapshotInfo(id: name, name: name, diskID: disks[2].id, state: .pending))
        #expect(try provider.client.snapshot(name: name) == nil)
        #expect(try azure.calls().contains { $0.method == "DELETE" && $0.path.hasSuffix("/snapshots/\(name)") && $0.status == 409 })
    }

    @Test("a snapshot PUT whose reply is lost after Resource Manager acted makes one snapshot, not two")
    func lostReplyMakesOne() throws {
        let (instance, names, _) = try vm(["pgdata"])
        let disk = try #require(try provider.disks(names, attachedTo: instance).first)
        let request = request(names[0], "L1")
        try azure.setFaults([["method": "PUT", "path_contains": "/snapshots/\(request.name)", "after_acting": true, "status": 503, "count": 1]])
        defer { try? azure.setFaults([]) }
        let snapshot = try provider.createSnapshot(of: disk, request: request)
        #expect(snapshot.id == request.name)
        #expect(snapshot.state == .completed, "no background copy by default")
        let creates = try azure.calls().filter { $0.method == "PUT" && $0.path.hasSuffix("/snapshots/\(request.name)") }
        #expect(creates.count == 1, "the lost reply was followed by a lookup, not a second PUT: \(creates)")
        try provider.deleteSnapshot(snapshot)
    }

    @Test("snapshots(ofBackup:disks:) keeps a server to its own disks' snapshots of that backup, ids compared case-insensitively")
    func snapshotsOfBackup() throws {
        let (instance, names, _) = try vm(["pgdata", "pgwal"])
        let (other, otherNames, _) = try vm(["other"], name: "vm2-\(tag)")
        let disks = try provider.disks(names, attachedTo: instance)
        let otherDisk = try provider.disks(otherNames, attachedTo: other)
        let backup = "20261207T100000"
        let mine = try disks.map { try provider.createSnapshot(of: $0, request: request($0.configuredName, backup)) }
        let theirs = try provider.createSnapshot(of: otherDisk[0], request: request(otherDisk[0].configuredName, backup))
        let earlier = try (0..<5).map { day in
            try provider.createSnapshot(of: disks[0], request: request(disks[0].configuredName, "2026120\(day)T100000"))
        }
        var shouted = disks
        shouted[0].id = shouted[0].id.uppercased()
        let lists = { try azure.calls().filter { $0.method == "GET" && $0.path.hasSuffix("/providers/Microsoft.Compute/snapshots") }.count }
        let before = try lists()
        let found = try provider.snapshots(ofBackup: backup, disks: shouted)
        #expect(Set(found.map(\.id)) == Set(mine.map(\.id)))
        #expect(try lists() - before >= 2, "eight snapshots or more, seven a page: every page read")
        for snapshot in mine + [theirs] + earlier { try provider.deleteSnapshot(snapshot) }
    }

    @Test("restore: a disk made from a snapshot and attached at the recorded LUN is reported with its source snapshot")
    func provisionAndAttached() throws {
        let (instance, names, _) = try vm(["pgdata"])
        let disk = try #require(try provider.disks(names, attachedTo: instance).first)
        let snapshot = try provider.createSnapshot(of: disk, request: request(names[0], "r1"))
        #expect(try eventually(timeout: .seconds(10)) { try provider.describeSnapshot(snapshot).state == .completed })
        try azure.createVM("rec-\(tag)", dataDisks: [])
        let recovery = try provider.instance("rec-\(tag)")
        #expect(try provider.attachedDisks(of: recovery).isEmpty)
        let attached = try provider.provisionDisk(from: snapshot, deviceName: "lun3", instance: recovery)
        #expect(attached.deviceName == "lun3")
        #expect(attached.sourceSnapshotID == snapshot.id)
        let listed = try provider.attachedDisks(of: recovery)
        #expect(listed == [attached])
        let original = try provider.attachedDisks(of: instance)
        #expect(original.map(\.sourceSnapshotID) == [nil], "an empty disk names no snapshot")
        let taken = #expect(throws: SnapfleetError.self) { try provider.provisionDisk(from: snapshot, deviceName: "lun3", instance: recovery) }
        #expect(taken?.message.hasPrefix("lun 3 of instance rec-\(tag) already holds disk") == true, "\(taken?.message ?? "")")
        let notLUN = #expect(throws: SnapfleetError.self) { try provider.provisionDisk(from: snapshot, deviceName: "/dev/sdc", instance: recovery) }
        #expect(notLUN?.code == .invalidBody)
    }
}
