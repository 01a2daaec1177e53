/// Where a path lives: its canonical form, the mount holding it and the block device under that mount.
public struct PathPlacement: Sendable, Equatable {
    /// The path as asked for.
    public var path: String
    /// The path with every symlink resolved.
    public var resolvedPath: String
    /// The mount that holds the resolved path.
    public var mount: MountEntry
    /// The block device behind the mount, or nil for a mount without one (tmpfs, overlay, proc…).
    public var device: BlockDevice?

    /// Creates a placement from its parts.
    public init(path: String, resolvedPath: String, mount: MountEntry, device: BlockDevice?) {
        self.path = path
        self.resolvedPath = resolvedPath
        self.mount = mount
        self.device = device
    }

    /// Whether a block device (and so a snapshottable disk) is under the path.
    public var isOnBlockDevice: Bool { device != nil }
}
