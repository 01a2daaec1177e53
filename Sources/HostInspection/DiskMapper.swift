import SnapfleetCore

/// Maps paths to the disks under them, and disks to where they are mounted.
public struct DiskMapper: Sendable {
    /// The mount table used for every answer (a snapshot: reload it after mounts change).
    public var mountTable: MountTable
    /// Where block devices are looked up.
    public var blockDevices: BlockDevices

    /// Uses the given mount table and block-device roots.
    public init(mountTable: MountTable, blockDevices: BlockDevices = BlockDevices()) {
        self.mountTable = mountTable
        self.blockDevices = blockDevices
    }

    /// A mapper over this process's current mounts and the real `/sys` and `/dev`.
    public static func current() throws -> DiskMapper {
        DiskMapper(mountTable: try MountTable.load())
    }

    /// Where `path` lives; an error if the path does not exist.
    public func placement(of path: String) throws -> PathPlacement {
        let resolved = try SystemFiles.realPath(path)
        let mount = try mountTable.mount(containingResolved: resolved)
        return PathPlacement(
            path: path, resolvedPath: resolved, mount: mount,
            device: try blockDevices.device(majorMinor: mount.device))
    }

    /// Where the device at `devicePath` (which may be a symlink such as `/dev/sdf` → `/dev/loop3`)
    /// is mounted; an error if the path is missing or not a block device.
    public func mounts(ofDevicePath devicePath: String) throws -> DeviceMounts {
        let resolved = try SystemFiles.realPath(devicePath, role: "device")
        let number = try SystemFiles.blockDeviceNumber(resolved)
        guard let device = try blockDevices.device(majorMinor: number) else {
            throw SnapfleetError(.notFound, "no block device \(number) in \(blockDevices.sysRoot) for \(devicePath)")
        }
        let mounts = mountTable.entries.filter { $0.device == number || sourceResolves($0.source, to: resolved) }
        return DeviceMounts(devicePath: devicePath, resolvedDevicePath: resolved, device: device, mounts: mounts)
    }

    /// btrfs (and other multi-device filesystems) report an anonymous device number in
    /// mountinfo, so a mount is also matched by its source path, as findmnt matches it.
    private func sourceResolves(_ source: String, to devicePath: String) -> Bool {
        guard source.hasPrefix("/") else { return false }
        return (try? SystemFiles.realPath(source)) == devicePath
    }
}
