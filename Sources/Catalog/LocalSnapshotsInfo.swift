/// `snapshots_info` for snapfleet's own `local` provider: disks that are image files attached through
/// loop devices, and snapshots that are copies of those images on the same host.
///
/// It mirrors the cloud providers' shape so the same code paths (and barman's layout) apply:
/// ```
/// {'provider': 'local',
///  'provider_info': {'host': 'pg1.example'},
///  'snapshots': [{'mount': {'mount_options': 'rw,relatime', 'mount_point': '/srv/pg'},
///                 'provider': {'device_name': '/dev/loop3',
///                              'image_path': '/var/lib/snapfleet/disks/pgdata.img',
///                              'snapshot_image_path': '/var/lib/snapfleet/snapshots/pgdata-20240315t021500.img',
///                              'snapshot_name': 'pgdata-20240315t021500'}}]}
/// ```
/// * `host` plays the part of the account/project: the machine whose filesystem holds the images.
/// * `device_name` is the loop device the source image was attached as at backup time (like AWS's device name).
/// * `image_path` is the source "disk"; `snapshot_image_path` is the snapshot and its identifier for
///   matching and deletion; `snapshot_name` follows barman's `<disk>-<lower-cased backup id>` rule.
/// * Per-snapshot keys are in alphabetical order, as the cloud providers' are.
///
/// Barman cannot read a backup with this provider (it raises "Unsupported snapshot provider").
public struct LocalSnapshotsInfo: Sendable, Hashable {
    /// The host holding the image files.
    public var host: String?
    /// The snapshots, in disk order.
    public var snapshots: [LocalSnapshot]

    /// Creates the value.
    public init(host: String?, snapshots: [LocalSnapshot]) {
        self.host = host
        self.snapshots = snapshots
    }

    var providerInfoLiteral: PythonLiteral { .dict(["host": .optional(host)]) }

    init(providerInfo: PythonLiteral, snapshots: [PythonLiteral]) throws {
        let info = try LiteralObject(providerInfo, context: "snapshots_info.provider_info", keys: ["host"])
        self.init(
            host: try info.string("host"),
            snapshots: try snapshots.enumerated().map { try LocalSnapshot(literal: $1, context: SnapshotsInfo.snapshotContext($0)) })
    }
}

/// One image snapshot: per-snapshot keys `device_name`, `image_path`, `snapshot_image_path`, `snapshot_name`.
public struct LocalSnapshot: Sendable, Hashable {
    /// Where the source image's loop device was mounted.
    public var mount: SnapshotMount
    /// The loop device of the source image at backup time, e.g. `/dev/loop3`.
    public var deviceName: String?
    /// The source image file.
    public var imagePath: String?
    /// The snapshot image file, the identifier used for matching and deletion.
    public var snapshotImagePath: String?
    /// `<disk>-<lower-cased backup id>`.
    public var snapshotName: String?

    /// Creates a snapshot record.
    public init(mount: SnapshotMount, deviceName: String?, imagePath: String?, snapshotImagePath: String?, snapshotName: String?) {
        self.mount = mount
        self.deviceName = deviceName
        self.imagePath = imagePath
        self.snapshotImagePath = snapshotImagePath
        self.snapshotName = snapshotName
    }

    static let keys = ["device_name", "image_path", "snapshot_image_path", "snapshot_name"]

    var literal: PythonLiteral {
        SnapshotEntry.literal(
            mount: mount,
            provider: .dict([
                "device_name": .optional(deviceName), "image_path": .optional(imagePath),
                "snapshot_image_path": .optional(snapshotImagePath), "snapshot_name": .optional(snapshotName),
            ]))
    }

    init(literal: PythonLiteral, context: String) throws {
        let (mount, provider) = try SnapshotEntry.decode(literal, context: context, providerKeys: Self.keys)
        self.init(
            mount: mount, deviceName: try provider.string("device_name"), imagePath: try provider.string("image_path"),
            snapshotImagePath: try provider.string("snapshot_image_path"), snapshotName: try provider.string("snapshot_name"))
    }
}
