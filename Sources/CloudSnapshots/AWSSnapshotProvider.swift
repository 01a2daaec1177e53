import AWSSigning
import Foundation
import SnapfleetCore

/// EBS snapshots of an EC2 instance's volumes, through the EC2 Query API (barman-cloud's `aws`).
public struct AWSSnapshotProvider: SnapshotProvider {
    /// Always `aws`.
    public let name = "aws"
    /// The EC2 client every call goes through.
    public let client: EC2Client

    /// Creates a provider over `client`.
    public init(client: EC2Client) {
        self.client = client
    }

    /// Creates a provider for `region` with `credentials`; `endpoint` overrides AWS's (tests).
    public init(credentials: AWSCredentials, region: String, endpoint: String? = nil) throws(SnapfleetError) {
        self.init(client: try EC2Client(credentials: credentials, region: region, endpoint: endpoint))
    }

    /// `providerFacts` keys carrying what `disks(_:attachedTo:)` needs of the instance.
    static let rootDeviceFact = "root_device_name"
    static let virtualizationFact = "virtualization_type"

    /// Finds a non-terminated instance by id (`i-…`) or by `Name` tag, with barman-cloud's rules and messages.
    public func instance(_ nameOrID: String) throws(SnapfleetError) -> InstanceInfo {
        let found = try ec2Instance(nameOrID)
        var facts = ["region": client.region]
        if let owner = found.ownerID { facts["account_id"] = owner }
        // What `disks(_:attachedTo:)` needs of the instance, so it does not describe it again.
        if let root = found.rootDeviceName { facts[Self.rootDeviceFact] = root }
        if let virtualization = found.virtualizationType { facts[Self.virtualizationFact] = virtualization }
        return InstanceInfo(id: found.id, name: found.name, zone: found.availabilityZone, providerFacts: facts)
    }

    /// The instance itself, looked up as `instance(_:)` describes.
    func ec2Instance(_ nameOrID: String) throws(SnapfleetError) -> EC2Instance {
        var reservations: [EC2Reservation]
        if nameOrID.hasPrefix("i-") {
            do {
                reservations = try client.describeInstances(ids: [nameOrID], filters: [.notTerminated])
            } catch  where error.message.contains("InvalidInstanceID.Malformed") {
                // barman-cloud's rule: an id-looking name such as `i-db` is looked up as a name.
                reservations = try describeByName(nameOrID)
            } catch  where error.code == .notFound {
                // Deliberately unlike barman-cloud (which re-raises): an unknown id is just "not found".
                reservations = []
            }
        } else {
            reservations = try describeByName(nameOrID)
        }
        return try Self.single(reservations, matching: nameOrID)
    }

    /// Instances whose `Name` tag is `name`, terminated ones excluded.
    private func describeByName(_ name: String) throws(SnapfleetError) -> [EC2Reservation] {
        try client.describeInstances(filters: [EC2Filter("tag:Name", [name]), .notTerminated])
    }

    /// Exactly one instance in exactly one reservation, or barman-cloud's error for the case.
    static func single(_ reservations: [EC2Reservation], matching nameOrID: String) throws(SnapfleetError) -> EC2Instance {
        let nonEmpty = reservations.filter { !$0.instances.isEmpty }
        guard let reservation = nonEmpty.first else {
            throw SnapfleetError(.notFound, "Cannot find instance \(nameOrID)")
        }
        guard nonEmpty.count == 1 else {
            throw SnapfleetError(.invalidConfiguration, "Cannot find a unique EC2 reservation containing instance \(nameOrID)")
        }
        guard reservation.instances.count == 1 else {
            throw SnapfleetError(.invalidConfiguration, "Cannot find a unique EC2 instance matching \(nameOrID)")
        }
        return reservation.instances[0]
    }

    /// Each disk by volume id, else by `Name` tag, among the volumes attached to `instance` (its root volume excluded).
    public func disks(_ namesOrIDs: [String], attachedTo instance: InstanceInfo) throws(SnapfleetError) -> [DiskInfo] {
        // An instance `instance(_:)` found carries what is needed; another is described again.
        let (root, virtualization): (String?, String?)
        if instance.providerFacts[Self.rootDeviceFact] != nil {
            (root, virtualization) = (instance.providerFacts[Self.rootDeviceFact], instance.providerFacts[Self.virtualizationFact])
        } else {
            let ec2 = try ec2Instance(instance.id)
            (root, virtualization) = (ec2.rootDeviceName, ec2.virtualizationType)
        }
        let attached = try client.describeVolumes(filters: [EC2Filter("attachment.instance-id", [instance.id])])
            .compactMap { volume in volume.attachments.first { $0.instanceID == instance.id }.map { (volume, $0) } }
            // barman-cloud leaves out the root volume, so naming it reads as "not attached".
            .filter { $0.1.device != root }
        var found: [DiskInfo] = []
        var missing: [String] = []
        for wanted in namesOrIDs {
            guard let (volume, attachment) = try Self.match(wanted, in: attached) else {
                missing.append(wanted)
                continue
            }
            found.append(Self.disk(wanted, volume: volume, attachment: attachment, virtualization: virtualization))
        }
        guard missing.isEmpty else {
            throw SnapfleetError(.notFound, "Disks not attached to instance \(instance.id): \(missing.joined(separator: ", "))")
        }
        return found
    }

    /// The attached volume whose id is `wanted`, else the one whose `Name` tag is; several is an error.
    static func match(
        _ wanted: String, in attached: [(EC2Volume, EC2Volume.Attachment)]
    ) throws(SnapfleetError) -> (EC2Volume, EC2Volume.Attachment)? {
        if let byID = attached.first(where: { $0.0.id == wanted }) { return byID }
        let byName = attached.filter { $0.0.name == wanted }
        guard byName.count <= 1 else {
            let ids = byName.map(\.0.id).joined(separator: ", ")
            throw SnapfleetError(.invalidConfiguration, "Duplicate volumes found matching \(wanted): \(ids)")
        }
        return byName.first
    }

    /// The `DiskInfo` recorded for a matched volume.
    static func disk(_ wanted: String, volume: EC2Volume, attachment: EC2Volume.Attachment, virtualization: String?) -> DiskInfo {
        var facts: [String: String] = [:]
        // The agent needs it to map `/dev/sdf` to `/dev/xvdf` (hvm) or `/dev/hdf` (paravirtual).
        if let virtualization { facts["virtualization_type"] = virtualization }
        if let source = volume.sourceSnapshotID { facts["source_snapshot"] = source }
        return DiskInfo(configuredName: wanted, id: volume.id, deviceName: attachment.device, sizeGiB: volume.sizeGiB, providerFacts: facts)
    }

    /// `CreateSnapshot` with the `Name` tag first. A snapshot already in `error` in the answer is
    /// returned as such (it exists, so the backup must delete or record it, never drop it).
    public func createSnapshot(of disk: DiskInfo, request: SnapshotRequest) throws(SnapfleetError) -> SnapshotInfo {
        let created = try client.createSnapshot(volumeID: disk.id, name: request.name, tags: request.tags)
        var info = Self.info(created, name: request.name)
        if info.diskID.isEmpty { info.diskID = disk.id }
        return info
    }

    /// The snapshot's state and progress; a snapshot that no longer exists is `.notFound`.
    public func describeSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) -> SnapshotInfo {
        let found: [EC2Snapshot]
        do {
            found = try client.describeSnapshots(ids: [snapshot.id])
        } catch  where error.code == .notFound {
            found = []
        }
        guard let current = found.first(where: { $0.id == snapshot.id }) else {
            throw SnapfleetError(.notFound, "snapshot \(snapshot.id) not found")
        }
        var info = Self.info(current, name: current.tags["Name"] ?? snapshot.name)
        if info.diskID.isEmpty { info.diskID = snapshot.diskID }
        return info
    }

    /// `DeleteSnapshot`; a missing snapshot counts as deleted, a locked one is refused with barman-cloud's message.
    public func deleteSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) {
        do {
            try client.deleteSnapshot(id: snapshot.id)
        } catch  where error.message.contains("InvalidSnapshot.NotFound") {
            return
        } catch  where error.message.contains("SnapshotLocked") {
            throw SnapfleetError(
                .invalidConfiguration, "Locked snapshot: \(snapshot.id).",
                hint: "Before deleting a snapshot, please ensure that it is not locked or that the lock has expired.")
        }
    }

    /// The snapshots with a lock that has not expired (`DescribeLockedSnapshots`); a snapshot that
    /// no longer exists is not locked.
    public func lockedSnapshots(_ ids: [String]) throws(SnapfleetError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        func locked(_ locks: [EC2SnapshotLock]) -> Set<String> { Set(locks.filter { $0.lockState != "expired" }.map(\.snapshotID)) }
        do { return locked(try client.describeLockedSnapshots(ids: ids)) } catch  where error.message.contains("InvalidSnapshot.NotFound") {
            // One unknown id fails the whole call; a filter does not: ask again for those that exist.
            let existing = try client.describeSnapshots(owners: ["self"], filters: [EC2Filter("snapshot-id", ids)]).map(\.id)
            return existing.isEmpty ? [] : locked(try client.describeLockedSnapshots(ids: existing))
        }
    }

    /// Locks a completed snapshot against deletion (`LockSnapshot`).
    public func lockSnapshot(_ snapshot: SnapshotInfo, policy: SnapshotLockPolicy) throws(SnapfleetError) -> SnapshotInfo {
        guard let mode = EC2SnapshotLockMode(rawValue: policy.mode) else {
            throw SnapfleetError(.invalidConfiguration, "unknown snapshot lock mode '\(policy.mode)'", hint: "governance or compliance")
        }
        _ = try client.lockSnapshot(
            id: snapshot.id, mode: mode, durationDays: policy.durationDays, coolOffHours: policy.coolOffHours,
            expirationDate: policy.expirationDate)
        var locked = snapshot
        locked.lockMode = mode.rawValue
        return locked
    }

    /// The volumes attached to the instance, each with the snapshot it was created from.
    public func attachedDisks(of instance: InstanceInfo) throws(SnapfleetError) -> [AttachedDisk] {
        let volumes = try client.describeVolumes(filters: [EC2Filter("attachment.instance-id", [instance.id])])
        return volumes.compactMap { volume in
            guard let attachment = volume.attachments.first(where: { $0.instanceID == instance.id }) else { return nil }
            return AttachedDisk(id: volume.id, deviceName: attachment.device, sourceSnapshotID: volume.sourceSnapshotID)
        }
    }

    /// Creates a volume from the snapshot in the instance's zone, waits until it is available,
    /// attaches it as `deviceName` and waits until it is attached (at most ten minutes each).
    public func provisionDisk(from snapshot: SnapshotInfo, deviceName: String, instance: InstanceInfo) throws(SnapfleetError) -> AttachedDisk {
        guard let zone = instance.zone else { throw SnapfleetError(.notFound, "instance \(instance.id) has no availability zone") }
        guard !deviceName.isEmpty else { throw SnapfleetError(.invalidBody, "the backup records no device name for \(snapshot.id)") }
        // One token per provisioning: a retried CreateVolume returns this volume, a later restore makes a new one.
        let token = "snapfleet-" + String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16)
        let volume = try client.createVolume(fromSnapshot: snapshot.id, zone: zone, name: snapshot.name, clientToken: token)
        try waitForVolume(volume, what: "available") { $0.state == "available" }
        try client.attachVolume(volume, instanceID: instance.id, device: deviceName)
        try waitForVolume(volume, what: "attached") { volume in volume.attachments.contains { $0.instanceID == instance.id && $0.state == "attached" }
        }
        return AttachedDisk(id: volume, deviceName: deviceName, sourceSnapshotID: snapshot.id)
    }

    private func waitForVolume(_ id: String, what: String, until done: (EC2Volume) -> Bool) throws(SnapfleetError) {
        for attempt in 0..<600 {
            guard let volume = try client.describeVolumes(ids: [id]).first else { throw SnapfleetError(.notFound, "volume \(id) vanished") }
            if volume.state == "error" { throw SnapfleetError(.ioError, "volume \(id) is in the error state") }
            if done(volume) { return }
            Thread.sleep(forTimeInterval: attempt < 10 ? 0.2 : 1)
        }
        throw SnapfleetError(.timeout, "volume \(id) not \(what) after ten minutes")
    }

    /// The snapshots of `disks` tagged `snapfleet_backup_id=<backupID>`, owned by this account.
    public func snapshots(ofBackup backupID: String, disks: [DiskInfo]) throws(SnapfleetError) -> [SnapshotInfo] {
        guard !disks.isEmpty else { return [] }
        // The volume filter first: moto applies filters in order and reads every tag in the
        // account for each snapshot a tag filter looks at (cubic over a fleet round otherwise).
        let filters = [EC2Filter("volume-id", disks.map(\.id)), EC2Filter("tag:snapfleet_backup_id", [backupID])]
        let found = try client.describeSnapshots(owners: ["self"], filters: filters)
        return found.map { Self.info($0, name: $0.tags["Name"] ?? $0.id) }
    }

    /// Maps EC2's snapshot states (`pending | completed | error | recoverable | recovering`) onto
    /// `SnapshotState`. Only `completed` is usable. `recovering` (coming back from the Recycle Bin) is
    /// waited for like `pending`; `recoverable` (deleted into the Recycle Bin) is as lost as `error`; a
    /// state AWS may add later is waited for, never taken as complete.
    static func info(_ snapshot: EC2Snapshot, name: String) -> SnapshotInfo {
        let (state, failure): (SnapshotState, String?) =
            switch snapshot.state {
            case "completed": (.completed, nil)
            case "error": (.error, snapshot.stateMessage ?? "snapshot in error state")
            case "recoverable": (.error, "the snapshot was deleted into the Recycle Bin (state recoverable)")
            default: (.pending, nil)
            }
        return SnapshotInfo(
            id: snapshot.id, name: name, diskID: snapshot.volumeID, state: state, progressPercent: snapshot.progressPercent,
            failure: failure)
    }
}
