/// A block device (whole disk or partition) as sysfs and udev describe it.
public struct BlockDevice: Sendable, Equatable {
    /// The kernel name, e.g. `nvme1n1p1`, `sda`, `loop3`.
    public var name: String
    /// Its device number.
    public var majorMinor: DeviceNumber
    /// Its node under the device root, e.g. `/dev/nvme1n1p1`.
    public var devicePath: String
    /// The partition number, or nil for a whole disk.
    public var partitionNumber: Int?
    /// The whole disk it belongs to: its parent for a partition, else its own name.
    public var diskName: String
    /// The disk's serial number, trimmed (on AWS Nitro the EBS volume id without its dash).
    public var serial: String?
    /// For a loop device (or a partition of one), the file behind it.
    public var loopBackingFile: String?
    /// Paths in `<dev>/disk/by-id` that point at this device, sorted.
    public var byIDLinks: [String]

    /// Creates a description from its parts.
    public init(
        name: String, majorMinor: DeviceNumber, devicePath: String, partitionNumber: Int?, diskName: String,
        serial: String?, loopBackingFile: String?, byIDLinks: [String]
    ) {
        self.name = name
        self.majorMinor = majorMinor
        self.devicePath = devicePath
        self.partitionNumber = partitionNumber
        self.diskName = diskName
        self.serial = serial
        self.loopBackingFile = loopBackingFile
        self.byIDLinks = byIDLinks
    }

    /// Whether this is a partition rather than a whole disk.
    public var isPartition: Bool { partitionNumber != nil }

    /// Whether this is a loop device or a partition of one.
    public var isLoop: Bool { loopBackingFile != nil }
}
