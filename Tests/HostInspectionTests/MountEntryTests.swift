import Foundation
import HostInspection
import SnapfleetCore
import TestSupport
import Testing

@Suite("MountEntry prints its TARGET and OPTIONS as findmnt does")
struct MountEntryTests {
    static func entry(vfs: String, fs: String, mountPoint: String = "/mnt") -> MountEntry {
        MountEntry(
            mountID: 1, parentID: 0, device: DeviceNumber(major: 7, minor: 0), root: "/", mountPoint: mountPoint,
            mountOptions: vfs, optionalFields: [], fsType: "ext4", source: "/dev/loop0", superOptions: fs)
    }

    @Test(
        "OPTIONS merges the per-mount and superblock options the way libmount does",
        arguments: [
            // Both halves start with rw: it is printed once, in front.
            ("rw,noatime", "rw,commit=30,data=ordered", "rw,noatime,commit=30,data=ordered"),
            ("rw,relatime", "rw", "rw,relatime"),
            // Identical halves are printed once, unchanged.
            ("rw", "rw", "rw"),
            ("ro,nosuid", "ro,nosuid", "ro,nosuid"),
            // A read-only bind mount of a writable filesystem: ro wins.
            ("ro,noatime", "rw,commit=30", "ro,noatime,commit=30"),
            // A read-only filesystem: both ro flags are folded into one.
            ("ro,relatime", "ro,errors=continue", "ro,relatime,errors=continue"),
            // A writable mount of a read-only superblock.
            ("rw,nosuid", "ro", "ro,nosuid"),
            // Commas inside quotes belong to the value.
            ("rw", "rw,context=\"u:r:t:s0:c0,c1\"", "rw,context=\"u:r:t:s0:c0,c1\""),
        ])
    func mergesOptions(vfs: String, fs: String, expected: String) {
        #expect(Self.entry(vfs: vfs, fs: fs).findmntOptions == expected)
    }

    @Test(
        "TARGET escapes like findmnt's table output in a UTF-8 locale",
        arguments: [
            ("/mnt/my data", "/mnt/my data"),
            ("/mnt/tab\there", "/mnt/tab\\x09here"),
            ("/mnt/new\nline", "/mnt/new\\x0aline"),
            ("/mnt/back\\slash", "/mnt/back\\slash"),
            ("/mnt/not\\xhex", "/mnt/not\\x5cxhex"),
            ("/mnt/café\u{200B}", "/mnt/café\u{200B}"),
            ("/mnt/\u{85}\u{7f}\u{2028}", "/mnt/\\xc2\\x85\\x7f\\xe2\\x80\\xa8"),
        ])
    func encodesTargetForUTF8Locale(mountPoint: String, expected: String) {
        #expect(Self.entry(vfs: "rw", fs: "rw", mountPoint: mountPoint).findmntTarget() == expected)
    }

    @Test("TARGET in the C locale escapes every non-ASCII byte")
    func encodesTargetForCLocale() {
        #expect(Self.entry(vfs: "rw", fs: "rw", mountPoint: "/mnt/é x").findmntTarget(.cLocale) == "/mnt/\\xc3\\xa9 x")
    }

    @Test("TARGET in raw output (-r) escapes blanks, backslashes and non-ASCII bytes")
    func encodesTargetRaw() {
        let entry = Self.entry(vfs: "rw", fs: "rw", mountPoint: "/mnt/my data\t\\é&\"")
        #expect(entry.findmntTarget(.raw) == "/mnt/my\\x20data\\x09\\x5c\\xc3\\xa9&\"")
    }
}

@Suite(
    "MountEntry against the real findmnt", .serialized,
    .requires(LoopDisk.isAvailable, Comment(rawValue: LoopDisk.requirement)))
struct MountEntryFindmntTests {
    /// Runs findmnt with a chosen locale and returns its lines.
    static func findmnt(_ arguments: [String], locale: String = "C.UTF-8") throws -> [String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = locale
        let output = try Shell.check(["findmnt"] + arguments, environment: environment)
        return output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    static func mounts(of disk: LoopDisk) throws -> [MountEntry] {
        try DiskMapper.current().mounts(ofDevicePath: disk.devicePath).mounts
    }

    @Test("findmnt -n -o TARGET,OPTIONS prints exactly our TARGET and OPTIONS (noatime, commit=30, data=ordered)")
    func matchesFindmntLine() throws {
        let disk = try LoopDisk(options: ["noatime", "commit=30", "data=ordered"])
        defer { try? disk.detach() }
        let mounts = try Self.mounts(of: disk)
        try #require(mounts.count == 1)
        let mount = mounts[0]
        // rw is in both halves of mountinfo but only once in findmnt's column.
        #expect(mount.mountOptions.hasPrefix("rw,") && mount.superOptions.hasPrefix("rw,"))
        #expect(mount.findmntOptions == "rw,noatime,commit=30,data=ordered")
        let line = try Self.findmnt(["-n", "-o", "TARGET,OPTIONS", disk.devicePath])
        #expect(line == ["\(mount.findmntTarget()) \(mount.findmntOptions)"])
    }

    @Test("bind mounts with odd names, read-only or not, print as findmnt prints them in every output form")
    func matchesFindmntForBindMounts() throws {
        let disk = try LoopDisk(options: ["noatime", "commit=30"])
        defer { try? disk.detach() }
        let names = ["ro bind\tx", "café\u{200B}", "c1\u{85}ctl", "back\\slash", "hex\\x41", "new\nline"]
        for (index, name) in names.enumerated() {
            try disk.bindMount(at: disk.directory.file(name), readOnly: index % 2 == 0)
        }
        let mounts = try Self.mounts(of: disk)
        try #require(mounts.count == names.count + 1)
        #expect(mounts.filter(\.isReadOnly).count == 3)
        let device = disk.devicePath
        #expect(try Self.findmnt(["-n", "-o", "OPTIONS", device]) == mounts.map(\.findmntOptions))
        #expect(try Self.findmnt(["-n", "-o", "TARGET", device]) == mounts.map { $0.findmntTarget(.utf8Locale) })
        #expect(
            try Self.findmnt(["-n", "-o", "TARGET", device], locale: "C") == mounts.map { $0.findmntTarget(.cLocale) })
        #expect(try Self.findmnt(["-n", "-r", "-o", "TARGET", device]) == mounts.map { $0.findmntTarget(.raw) })
    }

    @Test("a filesystem remounted read-only prints one ro, as findmnt does")
    func matchesFindmntReadOnly() throws {
        let disk = try LoopDisk(options: ["noatime", "data=ordered"])
        defer { try? disk.detach() }
        try disk.remount(options: "remount,ro")
        let mount = try #require(try Self.mounts(of: disk).first)
        #expect(mount.mountOptions.hasPrefix("ro,") && mount.superOptions.hasPrefix("ro,"))
        #expect(mount.findmntOptions == "ro,noatime,data=ordered")
        #expect(
            try Self.findmnt(["-n", "-o", "TARGET,OPTIONS", disk.devicePath]) == [
                "\(mount.findmntTarget()) \(mount.findmntOptions)"
            ])
    }
}
