import Foundation
import HostInspection
import SnapfleetCore
import TestSupport
import Testing

@Suite("DiskMapper maps paths to disks with fixture mounts and sysfs")
struct DiskMapperTests {
    let fixture: SysfsFixture
    let paths: TemporaryDirectory
    let mapper: DiskMapper

    /// Real directories in a temporary directory, described by a made-up mount table: `data`
    /// on the NVMe partition, `scratch` on a tmpfs, everything else on the root disk.
    init() throws {
        fixture = try SysfsFixture()
        paths = try TemporaryDirectory(prefix: "mapper")
        for directory in ["data/base", "scratch"] {
            try FileManager.default.createDirectory(atPath: paths.file(directory), withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(
            atPath: paths.file("pgdata"), withDestinationPath: paths.file("data/base"))
        let table = try MountInfo.parse(
            """
            1 0 259:1 / / rw,relatime - ext4 /dev/nvme0n1p1 rw
            2 1 259:3 / \(paths.file("data")) rw,noatime - ext4 /dev/nvme1n1p1 rw,commit=30
            3 1 0:50 / \(paths.file("scratch")) rw - tmpfs tmpfs rw
            """)
        mapper = DiskMapper(
            mountTable: MountTable(entries: table),
            blockDevices: BlockDevices(sysRoot: fixture.sysRoot, devRoot: fixture.devRoot))
    }

    @Test("a path through a symlink lands on the data disk's partition")
    func symlinkedPath() throws {
        let placement = try mapper.placement(of: paths.file("pgdata"))
        #expect(placement.path == paths.file("pgdata"))
        #expect(placement.resolvedPath == paths.file("data/base"))
        #expect(placement.mount.mountID == 2)
        #expect(placement.device?.name == "nvme1n1p1")
        #expect(placement.device?.serial == "vol0123abcd")
    }

    @Test("a path on a tmpfs is placed on its mount with no block device")
    func noBlockDevice() throws {
        let placement = try mapper.placement(of: paths.file("scratch"))
        #expect(placement.mount.fsType == "tmpfs")
        #expect(placement.device == nil)
        #expect(!placement.isOnBlockDevice)
    }

    @Test("a path outside the listed mounts falls to the root disk")
    func rootDisk() throws {
        #expect(try mapper.placement(of: paths.path).device?.name == "nvme0n1p1")
    }

    @Test("a missing path is a not_found error naming it")
    func missingPath() {
        let error = #expect(throws: SnapfleetError.self) { try mapper.placement(of: paths.file("absent")) }
        #expect(error?.code == .notFound)
        #expect(error?.message.hasPrefix("cannot resolve path \(paths.file("absent"))") == true)
    }

    @Test("a device path that is not a block device is a not_found error")
    func notABlockDevice() {
        let error = #expect(throws: SnapfleetError.self) { try mapper.mounts(ofDevicePath: "/dev/null") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "/dev/null is not a block device")
    }
}

@Suite(
    "DiskMapper on a real loop mount", .serialized,
    .requires(LoopDisk.isAvailable, Comment(rawValue: LoopDisk.requirement)))
struct DiskMapperLoopTests {
    @Test("a file on the mount maps to the loop device: number, name and backing file")
    func fileOnLoopMount() throws {
        let disk = try LoopDisk(options: ["noatime"])
        defer { try? disk.detach() }
        try "x".write(toFile: disk.mountPoint + "/PG_VERSION", atomically: false, encoding: .utf8)
        let placement = try DiskMapper.current().placement(of: disk.mountPoint + "/PG_VERSION")
        let expected = try Shell.check(["lsblk", "-dno", "MAJ:MIN", disk.devicePath]).filter { !$0.isWhitespace }
        #expect(placement.mount.mountPoint == disk.mountPoint)
        #expect(placement.mount.device.description == expected)
        #expect(placement.device?.majorMinor.description == expected)
        #expect(placement.device?.name == disk.deviceName)
        #expect(placement.device?.loopBackingFile == disk.imagePath)
    }

    @Test("a cloud-style device symlink (sdf → loopN) maps to the mount and its findmnt options")
    func deviceSymlink() throws {
        let disk = try LoopDisk(options: ["noatime", "commit=30"])
        defer { try? disk.detach() }
        // Made in a temporary directory, not in /dev, to keep /dev clean.
        let fakeDev = try TemporaryDirectory(prefix: "dev")
        try FileManager.default.createSymbolicLink(atPath: fakeDev.file("sdf"), withDestinationPath: disk.devicePath)
        let found = try DiskMapper.current().mounts(ofDevicePath: fakeDev.file("sdf"))
        #expect(found.resolvedDevicePath == disk.devicePath)
        #expect(found.device.name == disk.deviceName)
        #expect(found.mounts.map(\.mountPoint) == [disk.mountPoint])
        let findmnt = try Shell.check(["findmnt", "-n", "-o", "OPTIONS", fakeDev.file("sdf")])
        #expect(found.mounts.map(\.findmntOptions) == [findmnt.filter { !$0.isNewline }])
    }

    @Test("an attached but unmounted device has no mounts")
    func unmountedDevice() throws {
        let disk = try LoopDisk()
        defer { try? disk.detach() }
        try Shell.check(["umount", disk.mountPoint])
        let found = try DiskMapper.current().mounts(ofDevicePath: disk.devicePath)
        #expect(found.mounts.isEmpty)
        #expect(found.device.loopBackingFile == disk.imagePath)
    }
}
