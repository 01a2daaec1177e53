import Foundation
import HostInspection
import SnapfleetCore
import TestSupport
import Testing

@Suite("MountTable finds the mount that holds a path")
struct MountTableTests {
    static let table = MountTable(
        entries: try! MountInfo.parse(
            """
            1 0 254:1 / / rw - ext4 /dev/vda1 rw
            2 1 259:3 / /data rw,noatime - ext4 /dev/nvme1n1p1 rw
            3 1 259:5 / /data2 rw - ext4 /dev/nvme2n1 rw
            4 2 259:6 / /data/pg_wal rw - ext4 /dev/nvme3n1 rw
            5 1 0:40 / /stack rw - tmpfs tmpfs rw
            6 1 0:41 / /stack rw - tmpfs tmpfs rw,size=4k
            7 1 259:3 /tblspc /tblspc rw - ext4 /dev/nvme1n1p1 rw
            """))

    @Test(
        "the longest mount-point prefix wins",
        arguments: [
            ("/data/base/1", 2), ("/data", 2), ("/data/pg_wal/0001", 4), ("/etc/hosts", 1), ("/", 1),
        ])
    func longestPrefix(path: String, mountID: Int) throws {
        #expect(try Self.table.mount(containingResolved: path).mountID == mountID)
    }

    @Test("prefixes are compared component by component: /data2 is not under /data")
    func wholeComponents() throws {
        #expect(try Self.table.mount(containingResolved: "/data2/x").mountID == 3)
        #expect(try Self.table.mount(containingResolved: "/database").mountID == 1)
    }

    @Test("of two mounts on one mount point the later one is visible")
    func laterMountHidesEarlier() throws {
        #expect(try Self.table.mount(containingResolved: "/stack/file").mountID == 6)
    }

    @Test("all mounts of a device are listed in order, bind mounts included")
    func mountsOfDevice() {
        #expect(Self.table.mounts(ofDevice: DeviceNumber(major: 259, minor: 3)).map(\.mountID) == [2, 7])
        #expect(Self.table.mounts(ofDevice: DeviceNumber(major: 8, minor: 0)).isEmpty)
    }

    @Test("a table without a root mount cannot place a path outside its mounts")
    func noContainingMount() {
        let table = MountTable(entries: Array(Self.table.entries.dropFirst()))
        let error = #expect(throws: SnapfleetError.self) { try table.mount(containingResolved: "/etc") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "no mount contains /etc")
    }

    @Test("a path that does not exist is a not_found error naming it")
    func missingPath() throws {
        let table = try MountTable.load()
        let error = #expect(throws: SnapfleetError.self) { try table.mount(containing: "/no/such/snapfleet/path") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("/no/such/snapfleet/path") == true)
    }

    @Test("a table loads from any mountinfo file; a missing file is a not_found error")
    func loadsFromFile() throws {
        let directory = try TemporaryDirectory(prefix: "mountinfo")
        try "1 0 254:1 / / rw - ext4 /dev/vda1 rw\n".write(
            toFile: directory.file("mountinfo"), atomically: false, encoding: .utf8)
        #expect(try MountTable.load(path: directory.file("mountinfo")).entries.map(\.source) == ["/dev/vda1"])
        let error = #expect(throws: SnapfleetError.self) { try MountTable.load(path: directory.file("absent")) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains(directory.file("absent")) == true)
    }

    @Test("this process's own table has a root mount")
    func loadsProcSelf() throws {
        #expect(try MountTable.load().mount(containing: "/").mountPoint == "/")
    }
}

@Suite(
    "MountTable on a real loop mount", .serialized,
    .requires(LoopDisk.isAvailable, Comment(rawValue: LoopDisk.requirement)))
struct MountTableLoopTests {
    @Test("a symlink on the root filesystem pointing into the mount resolves to the mount")
    func symlinkIntoMount() throws {
        let disk = try LoopDisk(options: ["noatime"])
        defer { try? disk.detach() }
        let outside = try TemporaryDirectory(prefix: "outside")
        try FileManager.default.createDirectory(atPath: disk.mountPoint + "/pgdata", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(
            atPath: outside.file("link"), withDestinationPath: disk.mountPoint + "/pgdata")
        let table = try MountTable.load()
        let mount = try table.mount(containing: outside.file("link"))
        #expect(mount.mountPoint == disk.mountPoint)
        #expect(mount.source == disk.devicePath)
        #expect(try table.mount(containing: outside.path).mountPoint != disk.mountPoint)
    }

    @Test("the mount point itself and a file inside belong to the loop mount")
    func pathsInsideMount() throws {
        let disk = try LoopDisk()
        defer { try? disk.detach() }
        try "x".write(toFile: disk.mountPoint + "/file", atomically: false, encoding: .utf8)
        let table = try MountTable.load()
        #expect(try table.mount(containing: disk.mountPoint).source == disk.devicePath)
        #expect(try table.mount(containing: disk.mountPoint + "/file").fsType == "ext4")
    }
}
