import Foundation
import HostInspection
import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Snapshots of file-backed disks on this machine: image files attached to loop devices,
/// copied point-in-time into a snapshot directory as `<snapshot name>.img`.
public struct LocalSnapshotProvider: SnapshotProvider {
    /// `local`.
    public var name: String { "local" }
    /// Where snapshot images are kept (canonical path).
    public let snapshotDirectory: String
    /// Short disk names (`snapshot_disks` entries) and the image paths they stand for.
    public let namedDisks: [String: String]
    /// This host's name: the only instance there is.
    public let hostName: String
    private let loops: LocalLoopDevices

    /// A provider keeping snapshots in `snapshotDirectory` (which must exist); `hostName` defaults
    /// to this host's, `blockDevices` to the real `/sys` and `/dev`.
    public init(
        snapshotDirectory: String, namedDisks: [String: String] = [:], hostName: String? = nil,
        blockDevices: BlockDevices = BlockDevices()
    ) throws(SnapfleetError) {
        try LocalPaths.checkAbsolute(snapshotDirectory, role: "snapshot directory")
        for (name, path) in namedDisks { try LocalPaths.checkAbsolute(path, role: "image path of disk \(name)") }
        self.snapshotDirectory = try Self.existingDirectory(snapshotDirectory)
        self.namedDisks = namedDisks
        if let hostName {
            self.hostName = hostName
        } else {
            self.hostName = try Self.currentHostName()
        }
        self.loops = LocalLoopDevices(blockDevices: blockDevices)
    }

    /// This host, asked for by its host name or as `localhost`; any other name is `.notFound`.
    public func instance(_ nameOrID: String) throws(SnapfleetError) -> InstanceInfo {
        guard nameOrID == hostName || nameOrID == "localhost" else {
            throw SnapfleetError(
                .notFound, "no instance \(nameOrID): the local provider only has this host, \(hostName)",
                hint: "set the instance to \(hostName) or localhost")
        }
        return InstanceInfo(id: hostName, name: hostName)
    }

    /// Each disk (a configured short name or an image path) with the loop device it is attached to.
    public func disks(_ namesOrIDs: [String], attachedTo instance: InstanceInfo) throws(SnapfleetError) -> [DiskInfo] {
        guard instance.id == hostName else {
            throw SnapfleetError(.notFound, "instance \(instance.id) is not this host (\(hostName))", hint: "the local provider only sees this host")
        }
        var found: [DiskInfo] = []
        for entry in namesOrIDs { found.append(try disk(entry)) }
        return found
    }

    /// Copies the disk's image to `<snapshot directory>/<name>.img`, frozen if mounted; returns
    /// a completed snapshot (the copy is done when this returns).
    public func createSnapshot(of disk: DiskInfo, request: SnapshotRequest) throws(SnapfleetError) -> SnapshotInfo {
        try LocalPaths.checkSnapshotName(request.name)
        let path = snapshotPath(request.name)
        _ = try Self.existingDirectory(snapshotDirectory)
        guard let device = try loops.device(backedBy: disk.id) else { throw notAttached(disk.configuredName, disk.id) }
        let mountPoint = try loops.mountPoint(of: device)
        try checkNotInside(device, disk: disk.configuredName)
        try copyImage(disk.id, to: path, role: "snapshot", freezing: mountPoint, disk: disk.configuredName)
        return SnapshotInfo(id: path, name: request.name, diskID: disk.id, state: .completed, progressPercent: 100)
    }

    /// `.completed` while the snapshot's image exists; `.notFound` once it is gone.
    public func describeSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) -> SnapshotInfo {
        try checkSnapshotID(snapshot.id)
        let info = try LocalPaths.status(snapshot.id, role: "snapshot image")
        guard LocalPaths.isRegularFile(info) else {
            throw SnapfleetError(.ioError, "snapshot image \(snapshot.id) is not a regular file")
        }
        var described = snapshot
        described.state = .completed
        described.progressPercent = 100
        described.failure = nil
        return described
    }

    /// Removes the snapshot's image; one already gone counts as deleted.
    public func deleteSnapshot(_ snapshot: SnapshotInfo) throws(SnapfleetError) {
        try checkSnapshotID(snapshot.id)
        guard unlink(snapshot.id) == 0 || errno == ENOENT else {
            throw LocalPaths.error(errno, "cannot delete snapshot image \(snapshot.id)")
        }
    }

    /// The snapshot images `<disk>-<backup id lower-cased>.img` of `disks` that exist.
    public func snapshots(ofBackup backupID: String, disks: [DiskInfo]) throws(SnapfleetError) -> [SnapshotInfo] {
        var found: [SnapshotInfo] = []
        for disk in disks {
            let name = disk.configuredName + "-" + backupID.lowercased()
            guard (try? LocalPaths.checkSnapshotName(name)) != nil else { continue }
            let path = snapshotPath(name)
            guard access(path, F_OK) == 0 else {
                guard errno == ENOENT else { throw LocalPaths.error(errno, "cannot look for snapshot image \(path)") }
                continue
            }
            found.append(SnapshotInfo(id: path, name: name, diskID: disk.id, state: .completed))
        }
        return found
    }

    /// Loop devices on this host, each with the snapshot its image was cloned from (`<image>.origin`).
    public func attachedDisks(of instance: InstanceInfo) throws(SnapfleetError) -> [AttachedDisk] {
        guard instance.id == hostName else { throw SnapfleetError(.notFound, "instance \(instance.id) is not this host (\(hostName))") }
        return try loops.attachedDevices().map { device in
            let origin = try? String(contentsOfFile: Self.originPath(device.backingFile), encoding: .utf8)
            return AttachedDisk(
                id: device.backingFile, deviceName: device.device, sourceSnapshotID: origin?.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Clones the snapshot's image into `<snapshot directory>/volumes/`, records its origin, and
    /// attaches it to a free loop device (the device name asked for cannot be chosen locally).
    public func provisionDisk(from snapshot: SnapshotInfo, deviceName: String, instance: InstanceInfo) throws(SnapfleetError) -> AttachedDisk {
        let volumes = snapshotDirectory + "/volumes"
        guard mkdir(volumes, 0o700) == 0 || errno == EEXIST else { throw LocalPaths.error(errno, "cannot create \(volumes)") }
        var stamp = timespec()
        clock_gettime(CLOCK_REALTIME, &stamp)
        let image = "\(volumes)/\(snapshot.name)-\(stamp.tv_sec)\(stamp.tv_nsec / 1_000_000).img"
        try cloneVolume(from: snapshot, to: image)
        guard FileManager.default.createFile(atPath: Self.originPath(image), contents: Data(snapshot.id.utf8)) else {
            throw SnapfleetError(.ioError, "cannot record the origin of \(image)")
        }
        return AttachedDisk(id: image, deviceName: try attach(image), sourceSnapshotID: snapshot.id)
    }

    /// Where a cloned image records the snapshot it came from.
    static func originPath(_ image: String) -> String { image + ".origin" }

    /// Copies a snapshot's image to a new image file at `imagePath` (never replacing one), for restores.
    public func cloneVolume(from snapshot: SnapshotInfo, to imagePath: String) throws(SnapfleetError) {
        try checkSnapshotID(snapshot.id)
        try LocalPaths.checkAbsolute(imagePath, role: "volume image path")
        try copyImage(snapshot.id, to: imagePath, role: "volume image", freezing: nil, disk: snapshot.name)
    }

    /// Attaches an image file to a free loop device and returns the device (`/dev/loopN`).
    public func attach(_ imagePath: String, readOnly: Bool = false) throws(SnapfleetError) -> String {
        try LocalPaths.checkAbsolute(imagePath, role: "image path")
        guard LocalPaths.isRegularFile(try LocalPaths.status(imagePath, role: "image")) else {
            throw SnapfleetError(.invalidConfiguration, "image \(imagePath) is not a regular file")
        }
        return try loops.attach(imagePath, readOnly: readOnly)
    }

    /// Detaches a loop device (`/dev/loopN`) made by `attach`.
    public func detach(_ devicePath: String) throws(SnapfleetError) {
        let name = devicePath.split(separator: "/").last.map(String.init) ?? ""
        guard devicePath == "\(loops.blockDevices.devRoot)/\(name)", name.hasPrefix("loop"), Int(name.dropFirst(4)) != nil else {
            throw SnapfleetError(.invalidConfiguration, "\(String(reflecting: devicePath)) is not a loop device", hint: "pass /dev/loopN")
        }
        try loops.detach(devicePath)
    }

    /// The image path of a snapshot named `name`.
    public func snapshotPath(_ name: String) -> String { "\(snapshotDirectory)/\(name).img" }

    private func disk(_ entry: String) throws(SnapfleetError) -> DiskInfo {
        guard let configured = namedDisks[entry] ?? (entry.hasPrefix("/") ? entry : nil) else {
            let names = namedDisks.keys.sorted().joined(separator: ", ")
            throw SnapfleetError(
                .notFound, "no disk \(entry): it is neither a configured disk name nor an image path",
                hint: names.isEmpty ? "give the absolute path of the disk image" : "configured disks: \(names)")
        }
        try LocalPaths.checkAbsolute(configured, role: "image path of disk \(entry)")
        let image = try LocalPaths.realPath(configured, role: "image of disk \(entry)")
        guard let device = try loops.device(backedBy: image) else { throw notAttached(entry, image) }
        let size = try LocalPaths.status(image, role: "image of disk \(entry)").st_size
        return DiskInfo(
            configuredName: entry, id: image, deviceName: device, sizeGiB: Int((size + (1 << 30) - 1) >> 30),
            providerFacts: ["image_path": image, "loop_device": device])
    }

    /// Makes `destination` with O_EXCL first (so nothing is frozen for a name already taken),
    /// then copies; a partial copy is removed.
    private func copyImage(_ source: String, to destination: String, role: String, freezing mountPoint: String?, disk: String)
        throws(SnapfleetError)
    {
        let failed = { (error: SnapfleetError) in
            SnapfleetError(error.code, "\(role) of disk \(disk) failed: \(error.message)", hint: error.hint)
        }
        let input: Int32
        let output: Int32
        do {
            input = try LocalImageCopy.openSource(source)
        } catch { throw failed(error) }
        defer { close(input) }
        do {
            output = try LocalImageCopy.createDestination(destination, role: role)
        } catch { throw failed(error) }
        defer { close(output) }
        do {
            _ = try LocalFreeze.whileFrozen(mountPoint, disk: disk) { () throws(SnapfleetError) in
                try LocalImageCopy.copy(from: input, to: output, path: destination)
            }
        } catch {
            // Only ever the file this call created (O_EXCL above), never someone else's.
            unlink(destination)
            throw failed(error)
        }
    }

    /// Writing into a frozen filesystem blocks until it is thawed, and only we would thaw it:
    /// refuse a snapshot directory on the very disk being snapshotted.
    private func checkNotInside(_ device: String, disk: String) throws(SnapfleetError) {
        let directory = try LocalPaths.status(snapshotDirectory, role: "snapshot directory")
        let node = try LocalPaths.status(device, role: "loop device")
        guard directory.st_dev != node.st_rdev else {
            throw SnapfleetError(
                .invalidConfiguration, "snapshot directory \(snapshotDirectory) is on disk \(disk) itself",
                hint: "keep snapshots on another filesystem")
        }
    }

    /// Snapshot ids come back from the catalog: accept only `<snapshot directory>/<valid name>.img`,
    /// so describe and delete never touch any other file.
    private func checkSnapshotID(_ id: String) throws(SnapfleetError) {
        let prefix = snapshotDirectory + "/"
        let name = id.hasPrefix(prefix) && id.hasSuffix(".img") ? String(id.dropFirst(prefix.count).dropLast(4)) : ""
        do {
            try LocalPaths.checkSnapshotName(name)
        } catch {
            throw SnapfleetError(
                .invalidConfiguration, "\(String(reflecting: id)) is not a snapshot image in \(snapshotDirectory)",
                hint: "local snapshot ids are <snapshot directory>/<name>.img")
        }
    }

    private func notAttached(_ entry: String, _ image: String) -> SnapfleetError {
        SnapfleetError(
            .notFound, "disk \(entry) (image \(image)) is not attached to a loop device on \(hostName)",
            hint: "attach it with 'losetup -f --show \(image)'")
    }

    private static func existingDirectory(_ path: String) throws(SnapfleetError) -> String {
        let resolved = try LocalPaths.realPath(path, role: "snapshot directory")
        guard LocalPaths.isDirectory(try LocalPaths.status(resolved, role: "snapshot directory")) else {
            throw SnapfleetError(.invalidConfiguration, "snapshot directory \(path) is not a directory")
        }
        return resolved
    }

    private static func currentHostName() throws(SnapfleetError) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { throw LocalPaths.error(errno, "cannot read the host name") }
        return String(cBuffer: buffer)
    }
}
