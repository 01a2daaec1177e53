/// `snapshots_info` for `azure`: `provider_info` = `subscription_id`, `resource_group` (spec §3.3).
public struct AzureSnapshotsInfo: Sendable, Hashable {
    /// The subscription holding the snapshots.
    public var subscriptionID: String?
    /// The resource group holding the snapshots.
    public var resourceGroup: String?
    /// The snapshots, in the VM's data-disk order.
    public var snapshots: [AzureSnapshot]

    /// Creates the value.
    public init(subscriptionID: String?, resourceGroup: String?, snapshots: [AzureSnapshot]) {
        self.subscriptionID = subscriptionID
        self.resourceGroup = resourceGroup
        self.snapshots = snapshots
    }

    var providerInfoLiteral: PythonLiteral {
        // Not alphabetical: barman writes subscription_id before resource_group (spec §3.3, §3.6).
        .dict(["subscription_id": .optional(subscriptionID), "resource_group": .optional(resourceGroup)])
    }

    init(providerInfo: PythonLiteral, snapshots: [PythonLiteral]) throws {
        let info = try LiteralObject(
            providerInfo, context: "snapshots_info.provider_info", keys: ["subscription_id", "resource_group"])
        self.init(
            subscriptionID: try info.string("subscription_id"), resourceGroup: try info.string("resource_group"),
            snapshots: try snapshots.enumerated().map { try AzureSnapshot(literal: $1, context: SnapshotsInfo.snapshotContext($0)) })
    }
}

/// One managed-disk snapshot: per-snapshot keys `location`, `lun`, `snapshot_name`.
public struct AzureSnapshot: Sendable, Hashable {
    /// Where the source disk was mounted.
    public var mount: SnapshotMount
    /// The disk's location, e.g. `westeurope`.
    public var location: String?
    /// The data disk's LUN (seen as `/dev/disk/azure/scsi1/lun<N>`).
    public var lun: Int?
    /// The snapshot's name, the identifier used for API calls and matching.
    public var snapshotName: String?

    /// Creates a snapshot record.
    public init(mount: SnapshotMount, location: String?, lun: Int?, snapshotName: String?) {
        self.mount = mount
        self.location = location
        self.lun = lun
        self.snapshotName = snapshotName
    }

    static let keys = ["location", "lun", "snapshot_name"]

    var literal: PythonLiteral {
        SnapshotEntry.literal(
            mount: mount,
            provider: .dict(["location": .optional(location), "lun": .optional(lun), "snapshot_name": .optional(snapshotName)]))
    }

    init(literal: PythonLiteral, context: String) throws {
        let (mount, provider) = try SnapshotEntry.decode(literal, context: context, providerKeys: Self.keys)
        self.init(
            mount: mount, location: try provider.string("location"), lun: try provider.int("lun"),
            snapshotName: try provider.string("snapshot_name"))
    }
}
