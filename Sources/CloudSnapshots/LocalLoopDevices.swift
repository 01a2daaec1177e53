import HostInspection
import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Loop devices on this host: which one an image is attached to, where it is mounted,
/// attaching and detaching.
struct LocalLoopDevices: Sendable {
    /// Where sysfs and the device nodes are read.
    var blockDevices: BlockDevices

    /// The loop device (`/dev/loopN`) whose backing file is `imagePath` (canonical), or nil.
    func device(backedBy imagePath: String) throws(SnapfleetError) -> String? {
        let matches = try attachedDevices().filter { $0.backingFile == imagePath }.map(\.device)
        guard matches.count <= 1 else {
            throw SnapfleetError(
                .invalidConfiguration, "disk image \(imagePath) is attached to several loop devices (\(matches.joined(separator: ", ")))",
                hint: "detach the extra ones with 'losetup -d'")
        }
        return matches.first
    }

    /// Where the filesystem on `devicePath` is mounted (the first mount if bind-mounted), or nil.
    func mountPoint(of devicePath: String) throws(SnapfleetError) -> String? {
        do {
            return try DiskMapper(mountTable: MountTable.load(), blockDevices: blockDevices)
                .mounts(ofDevicePath: devicePath).mounts.first?.mountPoint
        } catch let error as SnapfleetError {
            throw SnapfleetError(error.code, "cannot find where \(devicePath) is mounted: \(error.message)", hint: error.hint)
        } catch {
            throw SnapfleetError(.ioError, "cannot find where \(devicePath) is mounted: \(error)")
        }
    }

    /// Attaches an image with `losetup -f --show`, retried: another process may take the free
    /// device between losetup's lookup and its attach.
    func attach(_ imagePath: String, readOnly: Bool) throws(SnapfleetError) -> String {
        let arguments = ["losetup", "-f", "--show"] + (readOnly ? ["-r"] : []) + [imagePath]
        var lastError = SnapfleetError(.ioError, "cannot attach \(imagePath)")
        for attempt in 0..<5 {
            do {
                return try HostCommand.check(
                    arguments, what: "cannot attach disk image \(imagePath)", hint: "losetup needs root and a free loop device")
            } catch {
                lastError = error
                HostCommand.pause(milliseconds: 100 * (attempt + 1))
            }
        }
        throw lastError
    }

    /// Detaches a loop device with `losetup -d`.
    func detach(_ devicePath: String) throws(SnapfleetError) {
        try HostCommand.check(
            ["losetup", "-d", devicePath], what: "cannot detach \(devicePath)", hint: "is a filesystem on it still mounted?")
    }

    /// Every attached loop device with its backing file.
    func attachedDevices() throws(SnapfleetError) -> [(device: String, backingFile: String)] {
        do {
            return try blockDevices.diskNames().filter { $0.hasPrefix("loop") }.compactMap { name in
                // `try?`: a loop device released between the listing and the lookup is simply gone.
                guard let backing = (try? blockDevices.device(named: name))?.loopBackingFile else { return nil }
                return (device: "\(blockDevices.devRoot)/\(name)", backingFile: backing)
            }
        } catch let error as SnapfleetError {
            throw error
        } catch {
            throw SnapfleetError(.ioError, "cannot list loop devices: \(error)")
        }
    }
}
