/// `snapshots_info` for `gcp`: `provider_info` = `project` (spec §3.3).
public struct GCPSnapshotsInfo: Sendable, Hashable {
    /// The project the snapshots were created in.
    public var project: String?
    /// The snapshots, in the instance's disk order.
    public var snapshots: [GCPSnapshot]

    /// Creates the value.
    public init(project: String?, snapshots: [GCPSnapshot]) {
        self.project = project
        self.snapshots = snapshots
    }

    var providerInfoLiteral: PythonLiteral { .dict(["project": .optional(project)]) }

    init(providerInfo: PythonLiteral, snapshots: [PythonLiteral]) throws {
        let info = try LiteralObject(providerInfo, context: "snapshots_info.provider_info", keys: ["project"])
        self.init(
            project: try info.string("project"),
            snapshots: try snapshots.enumerated().map { try GCPSnapshot(literal: $1, context: SnapshotsInfo.snapshotContext($0)) })
    }
}

/// One Compute Engine snapshot: per-snapshot keys `device_name`, `snapshot_name`, `snapshot_project`.
public struct GCPSnapshot: Sendable, Hashable {
    /// Where the source disk was mounted.
    public var mount: SnapshotMount
    /// The attached disk's `deviceName` (seen as `/dev/disk/by-id/google-<name>`).
    public var deviceName: String?
    /// The snapshot's name, the identifier used for API calls and matching.
    public var snapshotName: String?
    /// The project holding the snapshot.
    public var snapshotProject: String?

    /// Creates a snapshot record.
    public init(mount: SnapshotMount, deviceName: String?, snapshotName: String?, snapshotProject: String?) {
        self.mount = mount
        self.deviceName = deviceName
        self.snapshotName = snapshotName
        self.snapshotProject = snapshotProject
    }

    static let keys = ["device_name", "snapshot_name", "snapshot_project"]

    var literal: PythonLiteral {
        SnapshotEntry.literal(
            mount: mount,
            provider: .dict([
                "device_name": .optional(deviceName), "snapshot_name": .optional(snapshotName),
                "snapshot_project": .optional(snapshotProject),
            ]))
    }

    init(literal: PythonLiteral, context: String) throws {
        let (mount, provider) = try SnapshotEntry.decode(literal, context: context, providerKeys: Self.keys)
        self.init(
            mount: mount, deviceName: try provider.string("device_name"), snapshotName: try provider.string("snapshot_name"),
            snapshotProject: try provider.string("snapshot_project"))
    }
}
