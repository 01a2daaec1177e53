/// Where a snapshotted volume was mounted at backup time: `findmnt`'s TARGET and OPTIONS, verbatim (spec §3.3).
public struct SnapshotMount: Sendable, Hashable {
    /// The volume's mount point (not necessarily PGDATA), e.g. `/opt/postgres`.
    public var mountPoint: String?
    /// The mount options, e.g. `rw,noatime`; restore compares them as exact strings.
    public var mountOptions: String?

    /// Creates a mount record.
    public init(mountPoint: String?, mountOptions: String?) {
        self.mountPoint = mountPoint
        self.mountOptions = mountOptions
    }

    /// `{'mount_options': …, 'mount_point': …}`, in barman's key order.
    var literal: PythonLiteral {
        .dict(["mount_options": .optional(mountOptions), "mount_point": .optional(mountPoint)])
    }

    init(literal: PythonLiteral, context: String) throws {
        let object = try LiteralObject(literal, context: context, keys: ["mount_options", "mount_point"])
        self.init(mountPoint: try object.string("mount_point"), mountOptions: try object.string("mount_options"))
    }
}

/// Reads and writes the `{'mount': {…}, 'provider': {…}}` dict every provider's snapshot entry shares.
enum SnapshotEntry {
    /// The entry for one snapshot.
    static func literal(mount: SnapshotMount, provider: PythonLiteral) -> PythonLiteral {
        .dict(["mount": mount.literal, "provider": provider])
    }

    /// Splits an entry into its mount record and its provider dict (read by the caller with `keys`).
    static func decode(
        _ literal: PythonLiteral, context: String, providerKeys keys: [String]
    ) throws -> (mount: SnapshotMount, provider: LiteralObject) {
        let entry = try LiteralObject(literal, context: context, keys: ["mount", "provider"])
        let mount = try SnapshotMount(literal: entry.value("mount") ?? .dict([]), context: context + ".mount")
        let provider = try LiteralObject(entry.value("provider") ?? .dict([]), context: context + ".provider", keys: keys)
        return (mount, provider)
    }
}
