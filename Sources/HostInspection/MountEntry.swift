/// One line of `/proc/self/mountinfo`: a mount, where it is, and with which options.
///
/// Paths and option strings hold the kernel's text with its octal escapes decoded.
public struct MountEntry: Sendable, Equatable {
    /// The mount's unique id (field 1).
    public var mountID: Int
    /// The id of the parent mount (field 2).
    public var parentID: Int
    /// The `st_dev` of files on this mount (field 3); anonymous (major 0) for tmpfs, overlay, btrfs.
    public var device: DeviceNumber
    /// The directory of the filesystem that forms this mount's root (field 4; not `/` for bind mounts).
    public var root: String
    /// Where it is mounted, relative to the process's root (field 5).
    public var mountPoint: String
    /// The per-mount (VFS) options such as `rw,noatime` (field 6).
    public var mountOptions: String
    /// Optional tagged fields such as `shared:1` or `master:2` (zero or more, before the `-`).
    public var optionalFields: [String]
    /// The filesystem type, e.g. `ext4` or `tmpfs`.
    public var fsType: String
    /// The mount source, e.g. `/dev/loop0`, `tmpfs`, or an empty string.
    public var source: String
    /// The filesystem's superblock options such as `rw,commit=30,data=ordered`.
    public var superOptions: String

    /// Creates an entry from its fields.
    public init(
        mountID: Int, parentID: Int, device: DeviceNumber, root: String, mountPoint: String,
        mountOptions: String, optionalFields: [String], fsType: String, source: String, superOptions: String
    ) {
        self.mountID = mountID
        self.parentID = parentID
        self.device = device
        self.root = root
        self.mountPoint = mountPoint
        self.mountOptions = mountOptions
        self.optionalFields = optionalFields
        self.fsType = fsType
        self.source = source
        self.superOptions = superOptions
    }

    /// Whether this mount is read-only (its per-mount options say `ro`).
    public var isReadOnly: Bool {
        mountOptions.split(separator: ",").contains("ro")
    }
}
