import SnapfleetCore

/// A cloud (or the local machine) that can snapshot the disks of an instance.
///
/// Every provider answers the same questions the pre-flight checks and the backup ask, so the
/// controller's orchestration is written once. Calls may block on network I/O: call them off
/// any event loop.
public protocol SnapshotProvider: Sendable {
    /// The provider's name as recorded in `snapshots_info` (`aws`, `gcp`, `azure`, `local`).
    var name: String { get }

    /// Finds the instance by id or name; `.notFound` if there is none, an error if the name is ambiguous.
    func instance(_ nameOrID: String) throws(SnapfleetError) -> InstanceInfo

    /// Finds each listed disk (by id or name) and checks it is attached to `instance`;
    /// the result is in the order given. A missing or detached disk is an error naming it.
    func disks(_ namesOrIDs: [String], attachedTo instance: InstanceInfo) throws(SnapfleetError) -> [DiskInfo]

    /// Starts a snapshot of `disk` and returns as soon as its contents are fixed (for AWS, when
    /// `CreateSnapshot` has returned); it may still be copying in the background.
    func createSnapshot(of disk: DiskInfo, request: SnapshotRequest) throws(SnapfleetError) -> SnapshotInfo

    /// The snapshot's current state and progress.
    func describeSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) -> SnapshotInfo

    /// Deletes a snapshot; deleting one that does not exist succeeds.
    func deleteSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError)

    /// Locks a completed snapshot against deletion; returns it with `lockMode` set.
    func lockSnapshot(_ snapshot: SnapshotInfo, policy: SnapshotLockPolicy) throws(SnapfleetError) -> SnapshotInfo

    /// The ids among `ids` whose snapshot is locked against deletion now (checked before a backup's
    /// deletion begins, so that a locked snapshot stops it before anything is gone).
    func lockedSnapshots(_ ids: [String]) throws(SnapfleetError) -> Set<String>
    /// Every snapshot of `disks` made for this backup id (to find what a lost reply created, and to
    /// finish a backup a stopped controller left behind). Backup ids are timestamps, so servers
    /// backed up in the same second share one: the disks keep each server to its own snapshots.
    func snapshots(ofBackup backupID: String, disks: [DiskInfo]) throws(SnapfleetError) -> [SnapshotInfo]

    /// Every disk attached to `instance`, with the snapshot each was created from (restore checks).
    func attachedDisks(of instance: InstanceInfo) throws(SnapfleetError) -> [AttachedDisk]

    /// Creates a disk from `snapshot` and attaches it to `instance` as `deviceName` (`restore --provision`).
    func provisionDisk(from snapshot: SnapshotInfo, deviceName: String, instance: InstanceInfo) throws(SnapfleetError) -> AttachedDisk
}

/// A disk attached to an instance, and where it came from.
public struct AttachedDisk: Sendable, Equatable {
    /// The provider's id (`vol-…`, or the image path for local).
    public var id: String
    /// The device it is attached as (`/dev/sdf`, `/dev/loop4`).
    public var deviceName: String
    /// The snapshot it was created from, if any.
    public var sourceSnapshotID: String?

    /// Describes an attached disk.
    public init(id: String, deviceName: String, sourceSnapshotID: String?) {
        self.id = id
        self.deviceName = deviceName
        self.sourceSnapshotID = sourceSnapshotID
    }
}

extension SnapshotProvider {
    /// Providers that cannot provision disks say so.
    public func provisionDisk(from snapshot: SnapshotInfo, deviceName: String, instance: InstanceInfo) throws(SnapfleetError) -> AttachedDisk {
        throw SnapfleetError(
            .invalidConfiguration, "the \(name) provider cannot create disks from snapshots yet", hint: "create, attach and mount them yourself")
    }

    /// Providers without snapshot locks have none locked.
    public func lockedSnapshots(_ ids: [String]) throws(SnapfleetError) -> Set<String> { [] }
    /// Providers without snapshot locks refuse a lock policy (configuration checks keep it from happening).
    public func lockSnapshot(_ snapshot: SnapshotInfo, policy: SnapshotLockPolicy) throws(SnapfleetError) -> SnapshotInfo {
        throw SnapfleetError(.invalidConfiguration, "the \(name) provider cannot lock snapshots")
    }
}

/// How completed snapshots are locked against deletion (EBS snapshot locks).
public struct SnapshotLockPolicy: Sendable, Equatable {
    /// `governance` (may be lifted with permission) or `compliance` (no one can delete it until it expires).
    public var mode: String
    /// How long the lock lasts, in days (1–36500); this or `expirationDate`.
    public var durationDays: Int?
    /// A compliance lock's cool-off period in hours (1–72), during which it can still be lifted.
    public var coolOffHours: Int?
    /// When the lock ends (`YYYY-MM-DDTHH:MM:SS.sssZ`); this or `durationDays`.
    public var expirationDate: String?

    /// Creates a policy.
    public init(mode: String, durationDays: Int? = nil, coolOffHours: Int? = nil, expirationDate: String? = nil) {
        self.mode = mode
        self.durationDays = durationDays
        self.coolOffHours = coolOffHours
        self.expirationDate = expirationDate
    }
}

/// An instance (a VM, or this machine for the local provider).
public struct InstanceInfo: Sendable, Equatable {
    /// The provider's id for it (`i-0abc…`, or the host name for local).
    public var id: String
    /// Its name (the `Name` tag on AWS), if it has one.
    public var name: String?
    /// Where it runs (availability zone, zone, location), if the provider has such a thing.
    public var zone: String?
    /// Provider-specific facts to record (e.g. AWS `account_id`, `region`).
    public var providerFacts: [String: String]

    /// Creates an instance description.
    public init(id: String, name: String? = nil, zone: String? = nil, providerFacts: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.zone = zone
        self.providerFacts = providerFacts
    }
}

/// A disk attached to an instance.
public struct DiskInfo: Sendable, Equatable {
    /// The name the configuration used for it (`snapshot_disks` entry).
    public var configuredName: String
    /// The provider's id for it (`vol-0abc…`, or the image path for local).
    public var id: String
    /// The device name it is attached as (`/dev/sdf`, `/dev/loop3`, `lun 2`…), as the provider reports it.
    public var deviceName: String
    /// Its size in GiB, if known.
    public var sizeGiB: Int?
    /// Provider-specific facts to record with its snapshot.
    public var providerFacts: [String: String]

    /// Creates a disk description.
    public init(configuredName: String, id: String, deviceName: String, sizeGiB: Int? = nil, providerFacts: [String: String] = [:]) {
        self.configuredName = configuredName
        self.id = id
        self.deviceName = deviceName
        self.sizeGiB = sizeGiB
        self.providerFacts = providerFacts
    }
}

/// What a snapshot should be called and tagged with.
public struct SnapshotRequest: Sendable, Equatable {
    /// `<disk as configured>-<backup id lower-cased>`, barman-cloud's naming.
    public var name: String
    /// Tags (configured tags plus one naming the backup id).
    public var tags: [String: String]

    /// Creates a request.
    public init(name: String, tags: [String: String]) {
        self.name = name
        self.tags = tags
    }
}

/// A snapshot and where it stands.
public struct SnapshotInfo: Sendable, Equatable {
    /// The provider's id (`snap-0abc…`, or the snapshot image path for local).
    public var id: String
    /// Its name.
    public var name: String
    /// The disk it was taken of.
    public var diskID: String
    /// Where it stands.
    public var state: SnapshotState
    /// Copy progress in percent, if the provider reports it.
    public var progressPercent: Int?
    /// Why it failed, for `.error`.
    public var failure: String?
    /// The lock on it (`governance`/`compliance`), once locked.
    public var lockMode: String?

    /// Creates a snapshot description.
    public init(
        id: String, name: String, diskID: String, state: SnapshotState, progressPercent: Int? = nil, failure: String? = nil,
        lockMode: String? = nil
    ) {
        self.lockMode = lockMode
        self.id = id
        self.name = name
        self.diskID = diskID
        self.state = state
        self.progressPercent = progressPercent
        self.failure = failure
    }
}

/// A snapshot's life.
public enum SnapshotState: String, Sendable, Equatable {
    /// Contents fixed, still being copied.
    case pending
    /// Complete and usable.
    case completed
    /// Failed; it must be deleted.
    case error
}
