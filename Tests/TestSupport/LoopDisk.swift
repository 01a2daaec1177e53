import Foundation

/// A real ext4 disk for tests: an image file behind a loop device, mounted in a temporary directory.
///
/// Everything it creates (bind mounts, the mount, the loop device, the files) is removed by
/// `detach()` or, failing that, when the value is released.
public final class LoopDisk: @unchecked Sendable {
    /// The temporary directory holding the image and the mount point.
    public let directory: TemporaryDirectory
    /// The image file behind the loop device.
    public let imagePath: String
    /// The loop device node, e.g. `/dev/loop3`.
    public let devicePath: String
    /// Where the filesystem is mounted.
    public let mountPoint: String

    private let lock = NSLock()
    private var isAttached = true
    private var isMounted = false
    private var extraMounts: [String] = []

    /// Whether this machine can make loop disks (root, loop control, the tools); tests use it
    /// with `.enabled(if:)`.
    public static var isAvailable: Bool {
        geteuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
            && ["losetup", "mkfs.ext4", "mount", "umount", "truncate"].allSatisfy { tool in
                (try? Shell.run(["sh", "-c", "command -v \(tool)"]).status) == 0
            }
    }

    /// Why `isAvailable` can be false, for skipped tests.
    public static let requirement = "needs root, /dev/loop-control, losetup, mkfs.ext4, mount and truncate"

    /// Creates a `size` image, attaches it, makes ext4 on it and mounts it with `options`
    /// (e.g. `["noatime", "commit=30"]`) at `<directory>/<mountPointName>`.
    public init(size: String = "64M", options: [String] = [], mountPointName: String = "mnt") throws {
        directory = try TemporaryDirectory(prefix: "loopdisk")
        imagePath = directory.file("disk.img")
        mountPoint = directory.file(mountPointName)
        try Shell.check(["truncate", "-s", size, imagePath])
        devicePath = try Self.attach(imagePath)
        do {
            try Shell.check(["mkfs.ext4", "-q", devicePath])
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            try Shell.check(
                ["mount"] + (options.isEmpty ? [] : ["-o", options.joined(separator: ",")]) + [devicePath, mountPoint])
            isMounted = true
        } catch {
            try? detach()
            throw error
        }
    }

    /// The loop device's name, e.g. `loop3`.
    public var deviceName: String { URL(fileURLWithPath: devicePath).lastPathComponent }

    /// Bind-mounts the disk's mount point at `path` (created if missing), read-only if asked;
    /// the bind mount is undone by `detach()`.
    public func bindMount(at path: String, readOnly: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Shell.check(["mount", "--bind", mountPoint, path])
        lock.withLock { extraMounts.append(path) }
        // A bind mount cannot be made read-only in one step: remount it.
        if readOnly { try Shell.check(["mount", "-o", "remount,bind,ro", path]) }
    }

    /// Unmounts the disk's filesystem (it stays attached), as after losing the server.
    public func unmount() throws {
        try Shell.check(["umount", mountPoint])
        lock.withLock { isMounted = false }
    }

    /// Remounts the filesystem with new options, e.g. `remount,ro`.
    public func remount(options: String) throws {
        try Shell.check(["mount", "-o", options, mountPoint])
    }

    /// Unmounts everything, detaches the loop device and removes the files; safe to call twice.
    public func detach() throws {
        let (mounts, wasMounted, wasAttached) = lock.withLock {
            defer {
                extraMounts = []
                isMounted = false
                isAttached = false
            }
            return (extraMounts, isMounted, isAttached)
        }
        var failures: [String] = []
        // Bind mounts first, newest first, then the disk's own mount.
        for path in mounts.reversed() + (wasMounted ? [mountPoint] : []) where !Self.unmount(path) {
            failures.append("umount \(path)")
        }
        if wasAttached && !Self.detachLoop(devicePath, ifBackedBy: imagePath) {
            failures.append("losetup -d \(devicePath)")
        }
        try? FileManager.default.removeItem(atPath: directory.path)
        guard failures.isEmpty else {
            throw CommandFailed(
                command: ["detach"],
                output: ProcessOutput(status: 1, stdout: "", stderr: failures.joined(separator: ", ")))
        }
    }

    deinit { try? detach() }

    /// `losetup -f --show`, retried: another process may take the free device between the
    /// lookup and the attach.
    private static func attach(_ image: String) throws -> String {
        var lastError: (any Error)?
        for attempt in 0..<5 {
            do {
                return try Shell.check(["losetup", "-f", "--show", image]).trimmingCharacters(
                    in: .whitespacesAndNewlines)
            } catch {
                lastError = error
                usleep(UInt32(100_000 * (attempt + 1)))
            }
        }
        throw lastError!
    }

    /// Unmounts `path`, lazily if it is busy, so the loop device can still be released.
    private static func unmount(_ path: String) -> Bool {
        if (try? Shell.run(["umount", path]).status) == 0 { return true }
        return (try? Shell.run(["umount", "-l", path]).status) == 0
    }

    /// Detaches the loop device only if it is still ours: after a failure it may have been
    /// released and taken by someone else.
    private static func detachLoop(_ device: String, ifBackedBy image: String) -> Bool {
        let name = URL(fileURLWithPath: device).lastPathComponent
        let backing = (try? String(contentsOfFile: "/sys/block/\(name)/loop/backing_file", encoding: .utf8)) ?? ""
        guard backing.trimmingCharacters(in: .whitespacesAndNewlines) == image else { return true }
        return (try? Shell.run(["losetup", "-d", device]).status) == 0
    }
}
