import SnapfleetCore

/// `disk_map`: where are these disks on the host, and which disks hold PostgreSQL's directories?
///
/// The controller names disks as the provider sees them; the agent resolves each to a local
/// block device (the name itself, its `xvd` rename, or the NVMe device whose serial is the
/// volume id) and reports its mounts, and maps the data directory, each tablespace and
/// `pg_wal` to the device under it. Names are only looked up under `/dev`, never opened.
public struct DiskMapRequest: WireBody {
    /// The disks to find.
    public var disks: [DiskReference]

    /// Creates a request.
    public init(disks: [DiskReference]) { self.disks = disks }

    enum CodingKeys: String, CodingKey {
        case disks
    }

    /// At most 64 disks, each valid.
    public func validate() throws(SnapfleetError) {
        guard disks.count <= 64 else { throw SnapfleetError(.invalidBody, "disks must list at most 64 disks") }
        for disk in disks { try disk.validate() }
    }
}

/// A disk as the provider knows it.
public struct DiskReference: WireBody {
    /// The provider's id (`vol-0abc…`, a disk name, an image path for the local provider).
    public var id: String
    /// The device name it is attached as (`/dev/sdf`, `/dev/loop3`, `pgdata`, `lun2`).
    public var deviceName: String
    /// How `deviceName` names the device; absent means `.path` (AWS, local).
    public var deviceNaming: DeviceNaming?
    /// `deviceNaming`, `.path` when absent.
    public var naming: DeviceNaming { deviceNaming ?? .path }

    /// Names a disk.
    public init(id: String, deviceName: String, deviceNaming: DeviceNaming? = nil) {
        self.id = id
        self.deviceName = deviceName
        self.deviceNaming = deviceNaming
    }

    enum CodingKeys: String, CodingKey {
        case id
        case deviceName = "device_name"
        case deviceNaming = "device_naming"
    }

    /// A bounded id and a device name of the naming given (no path is ever taken from it).
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(id, field: "disks.id", maxLength: 256)
        try naming.check(deviceName, field: "disks.device_name")
    }
}

/// `disk_map_result`: the answer to `disk_map`.
public struct DiskMapResult: WireBody {
    /// One entry per requested disk, in the order asked.
    public var disks: [DiskPlacement]
    /// PostgreSQL's directories and the devices under them (empty if PostgreSQL is down).
    public var paths: [PathPlacement]

    /// Creates a result.
    public init(disks: [DiskPlacement], paths: [PathPlacement]) {
        self.disks = disks
        self.paths = paths
    }

    enum CodingKeys: String, CodingKey {
        case disks, paths
    }

    /// Checks every entry.
    public func validate() throws(SnapfleetError) {
        for disk in disks { try disk.validate() }
        for path in paths { try path.validate() }
    }
}

/// Where one requested disk is on the host.
public struct DiskPlacement: WireBody {
    /// The provider's id, as requested.
    public var id: String
    /// The device name, as requested.
    public var deviceName: String
    /// The local block device it resolved to (`/dev/nvme1n1`), nil if not found.
    public var localDevice: String?
    /// Where it is mounted, with findmnt's TARGET and OPTIONS text (empty if not mounted).
    public var mounts: [MountPoint]
    /// Why it could not be resolved, if it could not.
    public var error: String?

    /// Creates a placement.
    public init(id: String, deviceName: String, localDevice: String?, mounts: [MountPoint], error: String?) {
        self.id = id
        self.deviceName = deviceName
        self.localDevice = localDevice
        self.mounts = mounts
        self.error = error.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case id
        case deviceName = "device_name"
        case localDevice = "local_device"
        case mounts, error
    }

    /// Checks texts and paths.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(id, field: "disks.id", maxLength: 256)
        try Wire.checkDeviceName(deviceName, field: "disks.device_name")
        if let localDevice { try Wire.checkPath(localDevice, field: "disks.local_device") }
        for mount in mounts { try mount.validate() }
        if let error { try Wire.checkText(error, field: "disks.error") }
    }
}

/// A mount point and its options, as findmnt prints them (what barman records and compares).
public struct MountPoint: WireBody {
    /// findmnt's TARGET.
    public var target: String
    /// findmnt's OPTIONS.
    public var options: String

    /// Creates a mount point.
    public init(target: String, options: String) {
        self.target = target
        self.options = options
    }

    enum CodingKeys: String, CodingKey {
        case target, options
    }

    /// Checks the texts.
    public func validate() throws(SnapfleetError) {
        try Wire.checkPath(target, field: "mounts.target")
        try Wire.checkText(options, field: "mounts.options")
    }
}

/// One of PostgreSQL's directories and the device under it.
public struct PathPlacement: WireBody {
    /// Which directory: `data_directory`, `tablespace` or `wal_directory`.
    public var role: PathRole
    /// The tablespace's name, for tablespaces.
    public var name: String?
    /// The directory.
    public var path: String
    /// The block device under it (nil when it lies on tmpfs, overlay and the like).
    public var device: String?
    /// The mount holding it.
    public var mount: MountPoint?
    /// Why it could not be mapped, if it could not.
    public var error: String?

    /// Creates a placement.
    public init(role: PathRole, name: String?, path: String, device: String?, mount: MountPoint?, error: String?) {
        self.role = role
        self.name = name
        self.path = path
        self.device = device
        self.mount = mount
        self.error = error.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case role, name, path, device, mount, error
    }

    /// Checks texts and paths.
    public func validate() throws(SnapfleetError) {
        if let name { try Wire.checkText(name, field: "paths.name", maxLength: 64) }
        try Wire.checkPath(path, field: "paths.path")
        if let device { try Wire.checkPath(device, field: "paths.device") }
        try mount?.validate()
        if let error { try Wire.checkText(error, field: "paths.error") }
    }
}

/// The kinds of directory PostgreSQL keeps data in.
public enum PathRole: String, Codable, Sendable, CaseIterable {
    /// PGDATA.
    case dataDirectory = "data_directory"
    /// A user tablespace.
    case tablespace
    /// `pg_wal`, when it is a symlink to another place.
    case walDirectory = "wal_directory"

    /// How checks name a directory of this role: `data directory`, `tablespace NAME`, `pg_wal`.
    public func label(name: String?) -> String {
        switch self {
        case .dataDirectory: "data directory"
        case .tablespace: "tablespace \(name ?? "?")"
        case .walDirectory: "pg_wal"
        }
    }
}
