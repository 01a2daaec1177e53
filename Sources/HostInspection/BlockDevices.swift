import SnapfleetCore

/// Looks block devices up in sysfs and udev's `/dev/disk/by-id`, under roots that tests can
/// point at fixture trees.
public struct BlockDevices: Sendable {
    /// The sysfs mount, normally `/sys`.
    public var sysRoot: String
    /// The device directory, normally `/dev`.
    public var devRoot: String

    /// Uses the given roots (the defaults are the real ones).
    public init(sysRoot: String = "/sys", devRoot: String = "/dev") {
        self.sysRoot = sysRoot
        self.devRoot = devRoot
    }

    /// The block device with this number, or nil if there is none (e.g. `0:25` of a tmpfs).
    public func device(majorMinor: DeviceNumber) throws -> BlockDevice? {
        let link = "\(sysRoot)/dev/block/\(majorMinor)"
        guard SystemFiles.exists(link) else { return nil }
        // `/sys/dev/block/M:m` links to the device's directory; a partition's directory sits
        // inside its disk's, so the parent directory names the disk.
        let directory = try SystemFiles.realPath(link, role: "sysfs entry")
        let name = lastComponent(directory)
        let partition = try SystemFiles.readTrimmedIfPresent("\(directory)/partition").flatMap { Int($0) }
        let disk = partition == nil ? name : lastComponent(parentDirectory(directory))
        return BlockDevice(
            name: name, majorMinor: majorMinor, devicePath: "\(devRoot)/\(name)", partitionNumber: partition,
            diskName: disk, serial: try serial(ofDisk: disk), loopBackingFile: try loopBackingFile(ofDisk: disk),
            byIDLinks: try byIDLinks(toDeviceNamed: name))
    }

    /// The block device with this kernel name (`sda1`, `nvme1n1`); a `.notFound` error if none.
    public func device(named name: String) throws -> BlockDevice {
        let numberFile = "\(sysRoot)/class/block/\(name)/dev"
        guard !name.contains("/"), let text = try SystemFiles.readTrimmedIfPresent(numberFile),
            let number = DeviceNumber(text), let device = try device(majorMinor: number)
        else {
            throw SnapfleetError(.notFound, "no block device named \(name)", hint: "see \(sysRoot)/class/block")
        }
        return device
    }

    /// The names of all whole disks (`<sys>/block`), sorted.
    public func diskNames() throws -> [String] {
        try SystemFiles.directoryNames("\(sysRoot)/block")
    }

    /// The whole disk whose trimmed serial is exactly `serial`, if any.
    public func disk(withSerial serial: String) throws -> BlockDevice? {
        for name in try diskNames() where try self.serial(ofDisk: name) == serial {
            return try device(named: name)
        }
        return nil
    }

    /// The disk behind an EBS volume id (`vol-0123abcd`) on an AWS Nitro instance, found by the
    /// NVMe serial that carries the id without its dash; a `.notFound` error if none matches.
    public func disk(forEBSVolume volumeID: String) throws -> BlockDevice {
        let serial = try EBSVolumeID.nvmeSerial(forVolumeID: volumeID)
        guard let disk = try disk(withSerial: serial) else {
            throw SnapfleetError(
                .notFound, "no block device has serial \(serial) (ebs volume \(volumeID))",
                hint: "is the volume attached to this instance? see the serial files under \(sysRoot)/block/*/device")
        }
        return disk
    }

    /// A disk's serial: `device/serial` (NVMe, SCSI) or, failing that, `serial` (virtio); nil if empty.
    private func serial(ofDisk disk: String) throws -> String? {
        for file in ["device/serial", "serial"] {
            if let serial = try SystemFiles.readTrimmedIfPresent("\(sysRoot)/block/\(disk)/\(file)"), !serial.isEmpty {
                return serial
            }
        }
        return nil
    }

    private func loopBackingFile(ofDisk disk: String) throws -> String? {
        try SystemFiles.readTrimmedIfPresent("\(sysRoot)/block/\(disk)/loop/backing_file")
    }

    /// by-id links are relative (`../../nvme1n1`), so they are resolved lexically against their
    /// directory: that works in fixture trees where the device nodes are not real.
    private func byIDLinks(toDeviceNamed name: String) throws -> [String] {
        let directory = "\(devRoot)/disk/by-id"
        let wanted = LexicalPath.normalize("\(devRoot)/\(name)")
        return try SystemFiles.directoryNames(directory).map { "\(directory)/\($0)" }.filter { link in
            guard let target = SystemFiles.linkTarget(link) else { return false }
            let absolute = target.hasPrefix("/") ? target : "\(directory)/\(target)"
            return LexicalPath.normalize(absolute) == wanted
        }
    }

    private func lastComponent(_ path: String) -> String {
        String(path.split(separator: "/").last ?? "")
    }

    private func parentDirectory(_ path: String) -> String {
        "/" + path.split(separator: "/").dropLast().joined(separator: "/")
    }
}
