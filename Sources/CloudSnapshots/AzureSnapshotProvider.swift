import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Incremental snapshots of a VM's managed data disks (barman-cloud's `azure`).
///
/// Snapshots are named by barman's rule and identified by name, as barman records them
/// (`snapshot_name`); a disk's device name is its LUN (`lun<N>`). `createSnapshot` returns once
/// the snapshot's create operation has succeeded: the only instant the references let a client
/// see the contents fixed. The background copy (`completionPercent`, `snapshotAccessState`) may
/// go on; until it ends the snapshot is `.pending`.
public struct AzureSnapshotProvider: SnapshotProvider {
    /// Always `azure`.
    public let name = "azure"
    /// The Resource Manager client (its subscription and resource group hold the VM, disks and snapshots).
    public let client: AzureComputeClient
    /// The longest wait for a snapshot's create operation.
    public let captureTimeout: TimeInterval

    /// The tag naming the backup each snapshot belongs to.
    public static let backupTag = "snapfleet_backup_id"

    /// A provider for one subscription and resource group.
    public init(client: AzureComputeClient, captureTimeout: TimeInterval = 600) {
        self.client = client
        self.captureTimeout = captureTimeout
    }

    /// The VM by name, with barman-cloud's message when there is none.
    public func instance(_ nameOrID: String) throws(SnapfleetError) -> InstanceInfo {
        let vm = try virtualMachine(nameOrID)
        return InstanceInfo(
            id: vm.name, name: vm.name, zone: vm.location,
            providerFacts: ["subscription_id": client.subscription, "resource_group": client.resourceGroup])
    }

    func virtualMachine(_ name: String) throws(SnapfleetError) -> AzureVM {
        guard let vm = try client.virtualMachine(name: name) else {
            throw SnapfleetError(
                .notFound, "Cannot find instance with name \(name) in resource group \(client.resourceGroup) in subscription \(client.subscription)")
        }
        return vm
    }

    /// Each disk by name among the VM's data disks (the OS disk never counts); a disk that does not
    /// exist, or is not attached as a data disk, is an error with barman-cloud's message.
    public func disks(_ namesOrIDs: [String], attachedTo instance: InstanceInfo) throws(SnapfleetError) -> [DiskInfo] {
        let attached = try virtualMachine(instance.id).dataDisks
        var found: [DiskInfo] = []
        var missing: [String] = []
        for wanted in namesOrIDs {
            guard let disk = try client.disk(name: wanted) else {
                throw SnapfleetError(
                    .notFound, "Cannot find disk with name \(wanted) in resource group \(client.resourceGroup) in subscription \(client.subscription)"
                )
            }
            guard let attachment = attached.first(where: { AzureResourceID.same($0.managedDisk?.id, disk.id) }) else {
                missing.append(wanted)
                continue
            }
            found.append(
                DiskInfo(
                    configuredName: wanted, id: disk.id, deviceName: attachment.deviceName, sizeGiB: disk.properties?.diskSizeGB,
                    providerFacts: ["location": disk.location, "lun": String(attachment.lun)]))
        }
        guard missing.isEmpty else {
            throw SnapfleetError(.notFound, "Disks not attached to instance \(instance.id): \(missing.joined(separator: ", "))")
        }
        return found
    }

    /// An incremental snapshot of the disk, in its location, tagged as asked; returns once the
    /// create operation has succeeded (contents fixed), `.pending` while the background copy runs.
    /// A create operation that fails leaves a snapshot returned in `.error`, to be deleted like any other.
    public func createSnapshot(of disk: DiskInfo, request: SnapshotRequest) throws(SnapfleetError) -> SnapshotInfo {
        guard AzureResourceID.isValidName(request.name) else {
            throw SnapfleetError(
                .invalidConfiguration, "snapshot name \(request.name) is not a valid azure snapshot name (at most 80 letters, digits, '_', '-', '.')",
                hint: "use a shorter disk name")
        }
        let location: String
        if let known = disk.providerFacts["location"] {
            location = known
        } else {
            guard let found = try client.disk(id: disk.id) else { throw SnapfleetError(.notFound, "disk \(disk.id) does not exist") }
            location = found.location
        }
        let what = "snapshot \(request.name)"
        let outcome: AzureAsyncOperation
        if let operation = try client.createSnapshot(name: request.name, location: location, diskID: disk.id, tags: request.tags) {
            outcome = try client.wait(for: operation, what: what, timeout: captureTimeout)
        } else {
            outcome = try client.waitForProvisioning(what: what, timeout: captureTimeout) { () throws(SnapfleetError) in
                try client.snapshot(name: request.name)?.properties?.provisioningState
            }
        }
        guard let snapshot = try client.snapshot(name: request.name) else {
            throw SnapfleetError(.notFound, "snapshot \(request.name) does not exist after its create operation (\(outcome.failureText))")
        }
        var info = Self.info(snapshot, disk: disk.id)
        if !outcome.succeeded {
            info.state = .error
            info.failure = "the create operation ended \(outcome.failureText)"
        }
        return info
    }

    /// The snapshot as Resource Manager shows it now; `.notFound` when it is gone.
    public func describeSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) -> SnapshotInfo {
        guard let found = try client.snapshot(name: snapshot.id) else { throw SnapfleetError(.notFound, "snapshot \(snapshot.id) does not exist") }
        return Self.info(found, disk: snapshot.diskID)
    }

    /// Resource Manager's states as `SnapshotState`: `Failed` (or `Canceled`) provisioning is an
    /// error; a snapshot is complete once it succeeded and its background copy is done (100 %, and
    /// an access state other than `Pending` where reported); anything else is waited for.
    static func info(_ snapshot: AzureDiskSnapshot, disk: String) -> SnapshotInfo {
        let properties = snapshot.properties
        let provisioning = properties?.provisioningState ?? ""
        let percent = properties?.completionPercent
        let access = properties?.snapshotAccessState?.lowercased()
        let (state, progress, failure): (SnapshotState, Int?, String?)
        switch provisioning.lowercased() {
        case "failed", "canceled": (state, progress, failure) = (.error, nil, "snapshot provisioning \(provisioning)")
        case "succeeded":
            // Pending is waited for; Unknown is the field's default, so completionPercent decides then.
            let copying = (percent ?? 100) < 100 || access == "pending"
            (state, progress, failure) = copying ? (.pending, Int(percent ?? 0), nil) : (.completed, 100, nil)
        default: (state, progress, failure) = (.pending, 0, nil)
        }
        return SnapshotInfo(
            id: snapshot.name, name: snapshot.name, diskID: snapshot.sourceDiskID ?? disk, state: state, progressPercent: progress, failure: failure)
    }

    /// Deletes the snapshot and waits for the operation; one already gone is deleted.
    public func deleteSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) {
        guard let operation = try client.deleteSnapshot(name: snapshot.id) else { return }
        let outcome = try client.wait(for: operation, what: "deletion of snapshot \(snapshot.id)")
        guard outcome.succeeded else { throw SnapfleetError(.ioError, "deleting snapshot \(snapshot.id) ended \(outcome.failureText)") }
    }

    /// The group's snapshots tagged with the backup id and taken of one of `disks` (ids compared
    /// case-insensitively, as ARM ids are).
    public func snapshots(ofBackup backupID: String, disks: [DiskInfo]) throws(SnapfleetError) -> [SnapshotInfo] {
        guard !disks.isEmpty else { return [] }
        let ids = Set(disks.map { $0.id.lowercased() })
        return try client.snapshots()
            .filter { $0.tags?[Self.backupTag] == backupID && $0.sourceDiskID.map { ids.contains($0.lowercased()) } == true }
            .map { Self.info($0, disk: "") }
    }

    /// The VM's data disks, each with the snapshot it was made from (when it names one).
    public func attachedDisks(of instance: InstanceInfo) throws(SnapfleetError) -> [AttachedDisk] {
        var found: [AttachedDisk] = []
        for attachment in try virtualMachine(instance.id).dataDisks {
            guard let id = attachment.managedDisk?.id else {
                throw SnapfleetError(.ioError, "the data disk at lun \(attachment.lun) of instance \(instance.id) names no managed disk")
            }
            let source = try client.disk(id: id)?.properties?.creationData?.sourceResourceId
            found.append(
                AttachedDisk(
                    id: id, deviceName: attachment.deviceName,
                    sourceSnapshotID: source.flatMap { AzureResourceID.isSnapshot($0) ? AzureResourceID.lastSegment($0) : nil }))
        }
        return found
    }

    /// A disk made from the snapshot (named after it, with a suffix so restores can repeat) and
    /// attached at the recorded LUN (`lun<N>`); both operations waited for. The snapshot's
    /// background copy must have ended: Azure makes disks only from an available snapshot.
    public func provisionDisk(from snapshot: SnapshotInfo, deviceName: String, instance: InstanceInfo) throws(SnapfleetError) -> AttachedDisk {
        guard deviceName.hasPrefix("lun"), let lun = Int(deviceName.dropFirst(3)), (0...63).contains(lun) else {
            throw SnapfleetError(.invalidBody, "the backup records device '\(deviceName)' for \(snapshot.id), not an azure lun (lun0 … lun63)")
        }
        guard let source = try client.snapshot(name: snapshot.id) else { throw SnapfleetError(.notFound, "snapshot \(snapshot.id) does not exist") }
        let current = Self.info(source, disk: snapshot.diskID)
        guard current.state == .completed else {
            throw SnapfleetError(
                .refused, "snapshot \(snapshot.id) is not available yet (\(current.progressPercent ?? 0)% copied)",
                hint: "wait for its background copy to finish", retryable: current.state == .pending)
        }
        let vm = try virtualMachine(instance.id)
        if let taken = vm.dataDisks.first(where: { $0.lun == lun }) {
            throw SnapfleetError(
                .refused, "lun \(lun) of instance \(instance.id) already holds disk \(taken.name ?? taken.managedDisk?.id ?? "?")",
                hint: "detach it, or restore to another instance")
        }
        let suffix = "-r" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let diskName = String(snapshot.id.prefix(80 - suffix.count)) + suffix
        let what = "disk \(diskName) from snapshot \(snapshot.id)"
        let created: AzureAsyncOperation
        if let operation = try client.createDisk(name: diskName, location: source.location, snapshotID: source.id) {
            created = try client.wait(for: operation, what: what)
        } else {
            created = try client.waitForProvisioning(what: what) { () throws(SnapfleetError) in
                try client.disk(name: diskName)?.properties?.provisioningState
            }
        }
        guard created.succeeded, let disk = try client.disk(name: diskName) else {
            throw SnapfleetError(.ioError, "creating \(what) ended \(created.failureText)")
        }
        let attaching = "attaching disk \(diskName) to \(vm.name)"
        let attached: AzureAsyncOperation
        if let operation = try client.attachDisk(vm: vm.name, diskID: disk.id, lun: lun) {
            attached = try client.wait(for: operation, what: attaching)
        } else {
            // Attached by a request whose reply was lost: the VM update may still be running.
            attached = try client.waitForProvisioning(what: attaching) { () throws(SnapfleetError) in
                try client.virtualMachine(name: vm.name)?.properties?.provisioningState
            }
        }
        guard attached.succeeded else {
            throw SnapfleetError(.ioError, "attaching disk \(diskName) to instance \(vm.name) at lun \(lun) ended \(attached.failureText)")
        }
        return AttachedDisk(id: disk.id, deviceName: deviceName, sourceSnapshotID: snapshot.id)
    }
}
