/// `snapshots_info` for `aws`: `provider_info` = `account_id`, `region` (spec §3.3).
public struct AWSSnapshotsInfo: Sendable, Hashable {
    /// The snapshots' owner account (`OwnerId`).
    public var accountID: String?
    /// The EC2 region the snapshots live in.
    public var region: String?
    /// The snapshots, in `--snapshot-disk` order.
    public var snapshots: [AWSSnapshot]

    /// Creates the value.
    public init(accountID: String?, region: String?, snapshots: [AWSSnapshot]) {
        self.accountID = accountID
        self.region = region
        self.snapshots = snapshots
    }

    var providerInfoLiteral: PythonLiteral {
        .dict(["account_id": .optional(accountID), "region": .optional(region)])
    }

    init(providerInfo: PythonLiteral, snapshots: [PythonLiteral]) throws {
        let info = try LiteralObject(providerInfo, context: "snapshots_info.provider_info", keys: ["account_id", "region"])
        self.init(
            accountID: try info.string("account_id"), region: try info.string("region"),
            snapshots: try snapshots.enumerated().map { try AWSSnapshot(literal: $1, context: SnapshotsInfo.snapshotContext($0)) })
    }
}

/// One EBS snapshot: per-snapshot keys `device_name`, `snapshot_id`, `snapshot_name`, `snapshot_lock_mode`.
public struct AWSSnapshot: Sendable, Hashable {
    /// Where the source volume was mounted.
    public var mount: SnapshotMount
    /// The block-device-mapping name EC2 reports (e.g. `/dev/sdf`), not the OS device.
    public var deviceName: String?
    /// `snap-…`, the identifier used for API calls and matching.
    public var snapshotID: String?
    /// The value of the snapshot's `Name` tag.
    public var snapshotName: String?
    /// `governance`, `compliance`, or nil when not locked.
    public var snapshotLockMode: String?

    /// Creates a snapshot record.
    public init(mount: SnapshotMount, deviceName: String?, snapshotID: String?, snapshotName: String?, snapshotLockMode: String?) {
        self.mount = mount
        self.deviceName = deviceName
        self.snapshotID = snapshotID
        self.snapshotName = snapshotName
        self.snapshotLockMode = snapshotLockMode
    }

    static let keys = ["device_name", "snapshot_id", "snapshot_name", "snapshot_lock_mode"]

    var literal: PythonLiteral {
        SnapshotEntry.literal(
            mount: mount,
            provider: .dict([
                "device_name": .optional(deviceName), "snapshot_id": .optional(snapshotID),
                "snapshot_name": .optional(snapshotName), "snapshot_lock_mode": .optional(snapshotLockMode),
            ]))
    }

    init(literal: PythonLiteral, context: String) throws {
        let (mount, provider) = try SnapshotEntry.decode(literal, context: context, providerKeys: Self.keys)
        self.init(
            mount: mount, deviceName: try provider.string("device_name"), snapshotID: try provider.string("snapshot_id"),
            snapshotName: try provider.string("snapshot_name"), snapshotLockMode: try provider.string("snapshot_lock_mode"))
    }
}
