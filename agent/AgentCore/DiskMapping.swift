import HostInspection
import PostgresBackup
import SnapfleetCore
import SnapfleetProtocol

/// Answers `disk_map`: resolves the provider's disks to local block devices and their mounts,
/// and maps PostgreSQL's directories to the devices under them.
public struct DiskMapping: Sendable {
    private let mapper: @Sendable () throws -> DiskMapper
    private let devRoot: String

    /// Maps with `mapper` (the live host by default); device names are looked up under `devRoot`.
    public init(devRoot: String = "/dev", mapper: @escaping @Sendable () throws -> DiskMapper = { try DiskMapper.current() }) {
        self.mapper = mapper
        self.devRoot = devRoot
    }

    /// The host's mounts and block devices now.
    func currentMapper() throws(SnapfleetError) -> DiskMapper {
        do { return try mapper() } catch { throw SnapfleetError(.ioError, "cannot read this host's mounts and block devices: \(error)") }
    }

    /// The answer for `request`; `facts` nil (PostgreSQL down) leaves `paths` empty.
    public func answer(_ request: DiskMapRequest, facts: ServerFacts?) throws(SnapfleetError) -> DiskMapResult {
        let mapper: DiskMapper
        do { mapper = try self.mapper() } catch {
            throw SnapfleetError(.ioError, "cannot read this host's mounts and block devices: \(error)")
        }
        let disks = request.disks.map { locate($0, with: mapper) }
        let paths = (facts?.dataDirectories ?? []).map { place($0, with: mapper) }
        return DiskMapResult(disks: disks, paths: paths)
    }

    /// The first candidate device that is mounted (else the first that exists), by the disk's
    /// naming: for `/dev/NAME`, the name itself, its `xvd` rename, the NVMe device whose serial is
    /// the volume id (how a Nitro instance shows an EBS volume); for a Compute Engine device name,
    /// `/dev/disk/by-id/google-NAME` (or its SCSI or NVMe by-id name) and its partitions; for an Azure `lunN`,
    /// `/dev/disk/azure/scsi1/lunN`, the NVMe data-disk link of NVMe-only sizes, and their partitions.
    func locate(_ disk: DiskReference, with mapper: DiskMapper) -> DiskPlacement {
        var unmounted: DeviceMounts?
        for candidate in candidates(for: disk, blockDevices: mapper.blockDevices) {
            guard let found = try? mapper.mounts(ofDevicePath: candidate) else { continue }
            // A partitioned disk's whole device exists but holds no mount: a partition of it does.
            if !found.mounts.isEmpty || disk.naming == .path { return placement(disk, found) }
            if unmounted == nil { unmounted = found }
        }
        if let unmounted { return placement(disk, unmounted) }
        let tried = candidates(for: disk, blockDevices: nil).joined(separator: ", ")
        return DiskPlacement(id: disk.id, deviceName: disk.deviceName, localDevice: nil, mounts: [], error: "no block device found (tried \(tried))")
    }

    private func placement(_ disk: DiskReference, _ found: DeviceMounts) -> DiskPlacement {
        let mounts = found.mounts.map { MountPoint(target: $0.findmntTarget(), options: $0.findmntOptions) }
        return DiskPlacement(id: disk.id, deviceName: disk.deviceName, localDevice: found.device.devicePath, mounts: mounts, error: nil)
    }

    /// Paths made from fixed templates and a validated name: nothing from the message is a path.
    private func candidates(for disk: DiskReference, blockDevices: BlockDevices?) -> [String] {
        switch disk.naming {
        case .path: return pathCandidates(for: disk, blockDevices: blockDevices)
        case .gcp:
            // Google's guest environment makes google-NAME; systemd's own rules name the same disk
            // by its SCSI or NVMe identity, which exist without that environment (barman-cloud
            // knows only the first).
            let name = disk.deviceName
            return withPartitions("\(devRoot)/disk/by-id/google-\(name)")
                + withPartitions("\(devRoot)/disk/by-id/scsi-0Google_PersistentDisk_\(name)")
                + withPartitions("\(devRoot)/disk/by-id/nvme-Google_PersistentDisk_\(name)")
        case .azure:
            let lun = disk.deviceName.dropFirst("lun".count)
            return withPartitions("\(devRoot)/disk/azure/scsi1/lun\(lun)") + withPartitions("\(devRoot)/disk/azure/data/by-lun/\(lun)")
        }
    }

    /// The whole disk, then its first partitions as udev names them (`-part1`…).
    private func withPartitions(_ path: String) -> [String] {
        [path] + (1...8).map { "\(path)-part\($0)" }
    }

    private func pathCandidates(for disk: DiskReference, blockDevices: BlockDevices?) -> [String] {
        let name = String(disk.deviceName.dropFirst("/dev/".count))
        var paths = ["\(devRoot)/\(name)"]
        if name.hasPrefix("sd") { paths.append("\(devRoot)/xvd\(name.dropFirst(2))") }
        if disk.id.hasPrefix("vol-") {
            if let blockDevices, let nvme = try? blockDevices.disk(forEBSVolume: disk.id) {
                paths.append(nvme.devicePath)
            } else if blockDevices == nil {
                paths.append("the NVMe device with serial \(disk.id.replacingOccurrences(of: "-", with: ""))")
            }
        }
        return paths
    }

    private func place(_ directory: DataDirectory, with mapper: DiskMapper) -> SnapfleetProtocol.PathPlacement {
        do {
            let placement = try mapper.placement(of: directory.path)
            let mount = MountPoint(target: placement.mount.findmntTarget(), options: placement.mount.findmntOptions)
            let error = placement.device == nil ? "not on a block device (\(placement.mount.fsType))" : nil
            return .init(
                role: directory.role, name: directory.name, path: directory.path, device: placement.device?.devicePath, mount: mount, error: error)
        } catch {
            return .init(role: directory.role, name: directory.name, path: directory.path, device: nil, mount: nil, error: "\(error)")
        }
    }
}
