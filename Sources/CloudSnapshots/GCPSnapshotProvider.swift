import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Compute Engine snapshots of an instance's zonal persistent disks (barman-cloud's `gcp`).
///
/// Snapshots are named by barman's rule and identified by name, as barman records them. Unlike
/// barman-cloud, a snapshot is taken with `disks.createSnapshot` (labelled with the backup id),
/// `createSnapshot` returns as soon as Compute Engine reports the snapshot `UPLOADING` — the point
/// Google documents as the disk's contents being captured, after which writes may resume — and
/// disks are matched by exact name, not by suffix.
public struct GCPSnapshotProvider: SnapshotProvider {
    /// Always `gcp`.
    public let name = "gcp"
    /// The Compute Engine client (its project is the backups' project).
    public let client: GCPComputeClient
    /// The zone of the instance and its disks.
    public let zone: String
    /// How often a new snapshot is looked at until its contents are fixed.
    public let capturePollInterval: TimeInterval

    /// A provider for one project and zone.
    public init(client: GCPComputeClient, zone: String, capturePollInterval: TimeInterval = 0.25) {
        self.client = client
        self.zone = zone
        self.capturePollInterval = capturePollInterval
    }

    /// The instance by name, with barman-cloud's message when there is none.
    public func instance(_ nameOrID: String) throws(SnapfleetError) -> InstanceInfo {
        let found = try gceInstance(nameOrID)
        return InstanceInfo(id: found.name, name: found.name, zone: zone, providerFacts: ["project": client.project])
    }

    func gceInstance(_ name: String) throws(SnapfleetError) -> GCEInstance {
        guard let found = try client.instance(zone: zone, name: name) else {
            throw SnapfleetError(.notFound, "Cannot find instance with name \(name) in zone \(zone) for project \(client.project)")
        }
        return found
    }

    /// Each disk by name among the disks attached to the instance; a disk that exists but is not
    /// attached, or does not exist, is an error with barman-cloud's message.
    public func disks(_ namesOrIDs: [String], attachedTo instance: InstanceInfo) throws(SnapfleetError) -> [DiskInfo] {
        let attached = try gceInstance(instance.id).disks ?? []
        var found: [DiskInfo] = []
        var missing: [String] = []
        for wanted in namesOrIDs {
            guard let disk = try client.disk(zone: zone, name: wanted) else {
                throw SnapfleetError(.notFound, "Cannot find disk with name \(wanted) in zone \(zone) for project \(client.project)")
            }
            // Exact names: barman-cloud's suffix match takes `data` for `pgdata`.
            guard let attachment = attached.first(where: { $0.diskName == wanted }) else {
                missing.append(wanted)
                continue
            }
            var facts = ["zone": zone]
            if let source = disk.sourceSnapshot.flatMap({ GCPNames.lastSegment($0) }) { facts["source_snapshot"] = source }
            if let interface = attachment.interface { facts["interface"] = interface }
            found.append(
                DiskInfo(
                    configuredName: wanted, id: disk.name, deviceName: attachment.deviceName ?? "", sizeGiB: disk.sizeGb.flatMap { Int($0) },
                    providerFacts: facts))
        }
        guard missing.isEmpty else {
            throw SnapfleetError(.notFound, "Disks not attached to instance \(instance.id): \(missing.joined(separator: ", "))")
        }
        return found
    }

    /// `disks.createSnapshot`, then waits until the snapshot is `UPLOADING` (contents captured) or
    /// `READY`. A snapshot that fails is returned in `.error`, to be deleted like any other.
    public func createSnapshot(of disk: DiskInfo, request: SnapshotRequest) throws(SnapfleetError) -> SnapshotInfo {
        guard GCPNames.isValidName(request.name) else {
            throw SnapfleetError(
                .invalidConfiguration, "snapshot name \(request.name) is not a valid compute engine name (RFC 1035, at most 63 characters)",
                hint: "use a shorter disk name")
        }
        try client.createSnapshot(zone: zone, disk: disk.id, name: request.name, labels: Self.labels(request.tags))
        let deadline = Date().addingTimeInterval(600)
        while true {
            let current = try described(request.name, disk: disk.id)
            if current.state != .pending || current.progressPercent != 0 { return current }
            guard Date() < deadline else {
                throw SnapfleetError(.timeout, "snapshot \(request.name) was not captured within ten minutes (still CREATING)")
            }
            usleep(UInt32(capturePollInterval * 1_000_000))
        }
    }

    /// The snapshot as Compute Engine shows it now; `.notFound` when it is gone.
    public func describeSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) -> SnapshotInfo {
        try described(snapshot.id, disk: snapshot.diskID)
    }

    /// `snapshots.get` mapped onto `SnapshotInfo`; progress 0 while CREATING, 50 while UPLOADING.
    func described(_ name: String, disk: String) throws(SnapfleetError) -> SnapshotInfo {
        guard let found = try client.snapshot(name: name) else { throw SnapfleetError(.notFound, "snapshot \(name) does not exist") }
        return Self.info(found, disk: disk)
    }

    /// Compute Engine's states (`CREATING | UPLOADING | READY | FAILED | DELETING`) as `SnapshotState`:
    /// only READY is usable; a state Google may add later is waited for, never taken as complete.
    static func info(_ snapshot: GCESnapshot, disk: String) -> SnapshotInfo {
        let diskID = snapshot.sourceDisk.flatMap { GCPNames.lastSegment($0) } ?? disk
        let (state, progress, failure): (SnapshotState, Int?, String?) =
            switch snapshot.status {
            case "READY": (.completed, 100, nil)
            case "UPLOADING": (.pending, 50, nil)
            case "FAILED": (.error, nil, "snapshot in FAILED state")
            case "DELETING": (.error, nil, "the snapshot is being deleted")
            default: (.pending, 0, nil)
            }
        return SnapshotInfo(id: snapshot.name, name: snapshot.name, diskID: diskID, state: state, progressPercent: progress, failure: failure)
    }

    /// `snapshots.delete`, waited for; one already gone is deleted.
    public func deleteSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) {
        guard let operation = try client.deleteSnapshot(name: snapshot.id) else { return }
        try client.wait(for: operation)
    }

    /// The snapshots labelled with the backup id, taken of `disks`.
    public func snapshots(ofBackup backupID: String, disks: [DiskInfo]) throws(SnapfleetError) -> [SnapshotInfo] {
        guard !disks.isEmpty else { return [] }
        // Snapshots are global: a disk is named by its zone and name.
        let sources = Set(disks.map { "/zones/\(zone)/disks/\($0.id)" })
        let found = try client.snapshots(filter: "labels.snapfleet_backup_id = \"\(backupID.lowercased())\"")
        return found.filter { snapshot in sources.contains { snapshot.sourceDisk?.hasSuffix($0) == true } }.map { Self.info($0, disk: "") }
    }

    /// Every disk attached to the instance, with the snapshot it was made from.
    public func attachedDisks(of instance: InstanceInfo) throws(SnapfleetError) -> [AttachedDisk] {
        var found: [AttachedDisk] = []
        for attachment in try gceInstance(instance.id).disks ?? [] {
            guard let name = attachment.diskName else {
                throw SnapfleetError(
                    .ioError, "Could not parse disk name for source \(attachment.source ?? "") attached to instance \(instance.id)")
            }
            let disk = try client.disk(zone: zone, name: name)
            found.append(
                AttachedDisk(
                    id: name, deviceName: attachment.deviceName ?? "", sourceSnapshotID: disk?.sourceSnapshot.flatMap { GCPNames.lastSegment($0) }))
        }
        return found
    }

    /// `disks.insert` from the snapshot (named after it, with a suffix so restores can repeat), then
    /// `instances.attachDisk` as the recorded device name; both waited for.
    public func provisionDisk(from snapshot: SnapshotInfo, deviceName: String, instance: InstanceInfo) throws(SnapfleetError) -> AttachedDisk {
        guard !deviceName.isEmpty else { throw SnapfleetError(.invalidBody, "the backup records no device name for \(snapshot.id)") }
        let suffix = "-r" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let diskName = String(snapshot.id.prefix(63 - suffix.count)) + suffix
        if let operation = try client.insertDisk(zone: zone, name: diskName, sourceSnapshot: snapshot.id) { try client.wait(for: operation) }
        if let operation = try client.attachDisk(zone: zone, instance: instance.id, disk: diskName, deviceName: deviceName) {
            try client.wait(for: operation)
        }
        return AttachedDisk(id: diskName, deviceName: deviceName, sourceSnapshotID: snapshot.id)
    }

    /// Snapshot tags as labels: keys and values lower-cased (the backup id's `T`), as labels must be.
    static func labels(_ tags: [String: String]) -> [String: String] {
        Dictionary(tags.map { ($0.key.lowercased(), $0.value.lowercased()) }) { first, _ in first }
    }
}
