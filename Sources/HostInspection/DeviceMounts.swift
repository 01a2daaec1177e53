/// Where a block device is mounted: what `findmnt <device>` would list.
public struct DeviceMounts: Sendable, Equatable {
    /// The device path as asked for, e.g. `/dev/sdf`.
    public var devicePath: String
    /// The node it resolves to, e.g. `/dev/loop3`.
    public var resolvedDevicePath: String
    /// The device itself.
    public var device: BlockDevice
    /// Its mounts in mountinfo order (empty if it is not mounted; several for bind mounts).
    public var mounts: [MountEntry]

    /// Creates a result from its parts.
    public init(devicePath: String, resolvedDevicePath: String, device: BlockDevice, mounts: [MountEntry]) {
        self.devicePath = devicePath
        self.resolvedDevicePath = resolvedDevicePath
        self.device = device
        self.mounts = mounts
    }
}
