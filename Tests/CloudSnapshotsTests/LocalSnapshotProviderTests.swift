import CloudSnapshots
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@Suite("LocalSnapshotProvider without loop devices")
struct LocalSnapshotProviderTests {
    let directory: TemporaryDirectory
    let provider: LocalSnapshotProvider

    init() throws {
        directory = try TemporaryDirectory(prefix: "localsnap")
        provider = try LocalSnapshotProvider(snapshotDirectory: directory.path, hostName: "db1")
    }

    @Test("the instance is this host, by host name or as localhost")
    func instanceIsThisHost() throws {
        #expect(try provider.instance("db1") == InstanceInfo(id: "db1", name: "db1"))
        #expect(try provider.instance("localhost").id == "db1")
    }

    @Test("the default instance id is the real host name")
    func defaultHostName() throws {
        let real = try LocalSnapshotProvider(snapshotDirectory: directory.path)
        let expected = try Shell.check(["hostname"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try real.instance(expected).id == expected)
    }

    @Test("any other instance name is not found, naming it and this host")
    func otherInstanceRefused() {
        let error = #expect(throws: SnapfleetError.self) { try provider.instance("db2") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "no instance db2: the local provider only has this host, db1")
    }

    @Test("disks of another instance are refused")
    func disksOfOtherInstance() {
        let error = #expect(throws: SnapfleetError.self) {
            try provider.disks(["/tmp/x.img"], attachedTo: InstanceInfo(id: "db2"))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "instance db2 is not this host (db1)")
    }

    @Test("a snapshot directory that does not exist is refused")
    func missingSnapshotDirectory() {
        let error = #expect(throws: SnapfleetError.self) {
            try LocalSnapshotProvider(snapshotDirectory: directory.file("missing"))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.hasPrefix("cannot resolve snapshot directory \(directory.file("missing"))") == true)
    }

    @Test("paths with control characters or relative paths are refused")
    func badPaths() {
        let control = #expect(throws: SnapfleetError.self) {
            try LocalSnapshotProvider(snapshotDirectory: directory.path + "/a\nb")
        }
        #expect(control?.code == .invalidConfiguration)
        #expect(control?.message.contains("contains control characters") == true)
        let relative = #expect(throws: SnapfleetError.self) {
            try LocalSnapshotProvider(snapshotDirectory: directory.path, namedDisks: ["pgdata": "disk.img"])
        }
        #expect(relative?.message == "image path of disk pgdata disk.img is not an absolute path")
    }

    @Test("an unknown disk name is not found, listing the configured names")
    func unknownDiskName() throws {
        let named = try LocalSnapshotProvider(snapshotDirectory: directory.path, namedDisks: ["pgdata": "/x.img"], hostName: "db1")
        let error = #expect(throws: SnapfleetError.self) {
            try named.disks(["pgwal"], attachedTo: InstanceInfo(id: "db1"))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "no disk pgwal: it is neither a configured disk name nor an image path")
        #expect(error?.hint == "configured disks: pgdata")
    }

    @Test("an image not attached to a loop device is refused, naming it")
    func unattachedImage() throws {
        let image = directory.file("lonely.img")
        try Shell.check(["truncate", "-s", "1M", image])
        let named = try LocalSnapshotProvider(snapshotDirectory: directory.path, namedDisks: ["pgdata": image], hostName: "db1")
        let error = #expect(throws: SnapfleetError.self) {
            try named.disks(["pgdata"], attachedTo: InstanceInfo(id: "db1"))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "disk pgdata (image \(image)) is not attached to a loop device on db1")
        #expect(error?.hint == "attach it with 'losetup -f --show \(image)'")
    }

    @Test("snapshot ids outside the snapshot directory are refused by describe and delete")
    func foreignSnapshotIDs() {
        for id in ["/etc/passwd", directory.path + "/../x.img", directory.path + "/sub/x.img", directory.path + "/.img"] {
            let snapshot = SnapshotInfo(id: id, name: "x", diskID: "/d.img", state: .completed)
            let error = #expect(throws: SnapfleetError.self) { try provider.deleteSnapshot(snapshot) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message == "\(String(reflecting: id)) is not a snapshot image in \(directory.path)")
            #expect(throws: SnapfleetError.self) { try provider.describeSnapshot(snapshot) }
        }
    }

    @Test("delete removes the image and deleting a missing one succeeds; describe then reports not found")
    func deleteAndDeleteMissing() throws {
        let path = provider.snapshotPath("pgdata-b1")
        try Data("image".utf8).write(to: URL(fileURLWithPath: path))
        let snapshot = SnapshotInfo(id: path, name: "pgdata-b1", diskID: "/d.img", state: .pending)
        #expect(try provider.describeSnapshot(snapshot).state == .completed)
        try provider.deleteSnapshot(snapshot)
        #expect(!FileManager.default.fileExists(atPath: path))
        try provider.deleteSnapshot(snapshot)
        let error = #expect(throws: SnapfleetError.self) { try provider.describeSnapshot(snapshot) }
        #expect(error?.code == .notFound)
        #expect(error?.message.hasPrefix("cannot stat snapshot image \(path)") == true)
    }

    @Test("the snapshots of one backup are the images <disk>-<backup id lower-cased>.img of its disks, and only those")
    func snapshotsOfOneBackup() throws {
        for name in ["pgdata-20261125t101500", "tbs-20261125t101500", "pgdata-20261125t101501", "pgdata-20261125t101500-x", "other-20261125t101500"] {
            try Data("image".utf8).write(to: URL(fileURLWithPath: provider.snapshotPath(name)))
        }
        let disks = ["pgdata", "tbs", "wal"].map { DiskInfo(configuredName: $0, id: "/images/\($0).img", deviceName: "") }
        let found = try provider.snapshots(ofBackup: "20261125T101500", disks: disks)
        #expect(found.map(\.name) == ["pgdata-20261125t101500", "tbs-20261125t101500"])
        #expect(found.map(\.id) == [provider.snapshotPath("pgdata-20261125t101500"), provider.snapshotPath("tbs-20261125t101500")])
        #expect(found.map(\.diskID) == ["/images/pgdata.img", "/images/tbs.img"])
        #expect(try provider.snapshots(ofBackup: "20261125T101502", disks: disks).isEmpty)
        #expect(try provider.snapshots(ofBackup: "20261125T101500", disks: []).isEmpty, "another server's disk of the same second is not this one's")
    }

    @Test("detach refuses anything but a loop device")
    func detachNonLoop() {
        for device in ["/dev/sda", "/dev/loop", "/tmp/loop1", "/dev/loopx"] {
            let error = #expect(throws: SnapfleetError.self) { try provider.detach(device) }
            #expect(error?.message == "\(String(reflecting: device)) is not a loop device")
        }
    }
}

@Suite(
    "LocalSnapshotProvider on real loop devices", .serialized,
    .requires(LoopDisk.isAvailable, Comment(rawValue: LoopDisk.requirement)))
struct LocalSnapshotProviderLoopTests {
    let snapshots: TemporaryDirectory
    let disk: LoopDisk
    let provider: LocalSnapshotProvider
    let host = InstanceInfo(id: "db1")

    init() throws {
        snapshots = try TemporaryDirectory(prefix: "localsnap")
        disk = try LoopDisk(size: "64M")
        provider = try LocalSnapshotProvider(
            snapshotDirectory: snapshots.path, namedDisks: ["pgdata": disk.imagePath], hostName: "db1")
    }

    @Test("disks are found by image path and by configured name, with their loop device")
    func disksByPathAndName() throws {
        let found = try provider.disks(["pgdata", disk.imagePath], attachedTo: host)
        #expect(found.map(\.configuredName) == ["pgdata", disk.imagePath])
        #expect(found.map(\.id) == [disk.imagePath, disk.imagePath])
        #expect(found.map(\.deviceName) == [disk.devicePath, disk.devicePath])
        #expect(found[0].sizeGiB == 1)
        #expect(found[0].providerFacts == ["image_path": disk.imagePath, "loop_device": disk.devicePath])
        try disk.detach()
    }

    @Test("a snapshot taken while a writer appends holds a consistent filesystem and the earlier data; the disk is thawed after")
    func snapshotUnderWrites() throws {
        try Data("written before the snapshot\n".utf8).write(to: URL(fileURLWithPath: disk.mountPoint + "/before.txt"))
        let writer = try startWriter(appendingTo: disk.mountPoint + "/log")
        defer { stop(writer) }
        usleep(300_000)
        let pgdata = try provider.disks(["pgdata"], attachedTo: host)[0]
        let snapshot = try provider.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b1", tags: [:]))
        #expect(
            snapshot
                == SnapshotInfo(
                    id: snapshots.file("pgdata-b1.img"), name: "pgdata-b1", diskID: disk.imagePath, state: .completed, progressPercent: 100))
        #expect(try canWrite(disk.mountPoint + "/after.txt"))
        #expect(try provider.describeSnapshot(snapshot).state == .completed)
        try withMountedCopy(snapshot.id) { mountPoint in
            #expect(try String(contentsOfFile: mountPoint + "/before.txt", encoding: .utf8) == "written before the snapshot\n")
            let lines = try String(contentsOfFile: mountPoint + "/log", encoding: .utf8).split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(lines.enumerated().allSatisfy { String($0.offset) == $0.element })
        }
        stop(writer)
        try disk.detach()
    }

    @Test("the disk is thawed and the partial image removed when the copy fails (snapshot directory full)")
    func thawedAfterFailedCopy() throws {
        let small = try LoopDisk(size: "8M", mountPointName: "snapshots")
        defer { try? small.detach() }
        try Shell.check(["dd", "if=/dev/urandom", "of=\(disk.mountPoint)/random", "bs=1M", "count=16", "status=none"])
        let full = try LocalSnapshotProvider(snapshotDirectory: small.mountPoint, hostName: "db1")
        let pgdata = try full.disks([disk.imagePath], attachedTo: host)[0]
        let error = #expect(throws: SnapfleetError.self) {
            try full.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b2", tags: [:]))
        }
        #expect(error?.code == .ioError)
        #expect(error?.message.hasPrefix("snapshot of disk \(disk.imagePath) failed: cannot write \(small.mountPoint)/pgdata-b2.img") == true)
        #expect(error?.hint == "is the snapshot directory full?")
        #expect(!FileManager.default.fileExists(atPath: small.mountPoint + "/pgdata-b2.img"))
        #expect(try canWrite(disk.mountPoint + "/after.txt"))
        try small.detach()
        try disk.detach()
    }

    @Test("a snapshot directory on the disk being snapshotted is refused before freezing")
    func snapshotDirectoryOnTheDisk() throws {
        let inside = try LocalSnapshotProvider(snapshotDirectory: disk.mountPoint, hostName: "db1")
        let pgdata = try inside.disks([disk.imagePath], attachedTo: host)[0]
        let error = #expect(throws: SnapfleetError.self) {
            try inside.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b3", tags: [:]))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message == "snapshot directory \(disk.mountPoint) is on disk \(disk.imagePath) itself")
        #expect(try canWrite(disk.mountPoint + "/after.txt"))
        try disk.detach()
    }

    @Test("an existing snapshot name is refused and the existing image left alone; bad names are refused")
    func existingSnapshotRefused() throws {
        let pgdata = try provider.disks(["pgdata"], attachedTo: host)[0]
        let first = try provider.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b4", tags: [:]))
        let size = try FileManager.default.attributesOfItem(atPath: first.id)[.size] as? Int
        let again = #expect(throws: SnapfleetError.self) {
            try provider.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b4", tags: [:]))
        }
        #expect(again?.code == .invalidConfiguration)
        #expect(again?.message == "snapshot of disk pgdata failed: snapshot \(first.id) already exists")
        #expect(try FileManager.default.attributesOfItem(atPath: first.id)[.size] as? Int == size)
        for name in ["../escape", "a/b", "", ".hidden", "x\ty"] {
            let bad = #expect(throws: SnapfleetError.self) {
                try provider.createSnapshot(of: pgdata, request: SnapshotRequest(name: name, tags: [:]))
            }
            #expect(bad?.message == "snapshot name \(String(reflecting: name)) is not a valid file name")
        }
        try disk.detach()
    }

    @Test("a snapshot of a detached disk is refused, naming it")
    func snapshotOfDetachedDisk() throws {
        let pgdata = try provider.disks(["pgdata"], attachedTo: host)[0]
        try disk.detach()
        let error = #expect(throws: SnapfleetError.self) {
            try provider.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b5", tags: [:]))
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "disk pgdata (image \(disk.imagePath)) is not attached to a loop device on db1")
    }

    @Test("a snapshot clones to a new image that attaches, can itself be snapshotted unmounted, and detaches")
    func cloneAttachDetach() throws {
        try Data("kept\n".utf8).write(to: URL(fileURLWithPath: disk.mountPoint + "/kept.txt"))
        let pgdata = try provider.disks(["pgdata"], attachedTo: host)[0]
        let snapshot = try provider.createSnapshot(of: pgdata, request: SnapshotRequest(name: "pgdata-b6", tags: [:]))
        let restored = snapshots.file("restored.img")
        try provider.cloneVolume(from: snapshot, to: restored)
        let twice = #expect(throws: SnapfleetError.self) { try provider.cloneVolume(from: snapshot, to: restored) }
        #expect(twice?.message == "volume image of disk pgdata-b6 failed: volume image \(restored) already exists")
        let device = try provider.attach(restored)
        var attached = true
        defer { if attached { try? provider.detach(device) } }
        #expect(device.hasPrefix("/dev/loop"))
        let found = try provider.disks([restored], attachedTo: host)[0]
        #expect(found.deviceName == device)
        // Attached but not mounted: copied without freezing.
        let copy = try provider.createSnapshot(of: found, request: SnapshotRequest(name: "restored-b7", tags: [:]))
        try withMountedCopy(copy.id) { mountPoint throws in
            #expect(try String(contentsOfFile: mountPoint + "/kept.txt", encoding: .utf8) == "kept\n")
        }
        try provider.detach(device)
        attached = false
        #expect(throws: SnapfleetError.self) { try provider.disks([restored], attachedTo: host) }
        try disk.detach()
    }

    // MARK: helpers

    /// A shell loop appending numbered lines, one `echo` (one write) each.
    private func startWriter(appendingTo path: String) throws -> pid_t {
        try ChildProcess.spawn(
            ["sh", "-c", "i=0; while :; do echo $i >> '\(path)'; i=$((i+1)); done"], logPath: snapshots.file("writer.log"))
    }

    private func stop(_ pid: pid_t) {
        guard kill(pid, SIGKILL) == 0 else { return }
        _ = ChildProcess.exitStatus(of: pid, wait: true)
    }

    /// Writes in a child under `timeout`: a disk left frozen would block the write forever.
    private func canWrite(_ path: String) throws -> Bool {
        try Shell.run(["timeout", "10", "sh", "-c", "echo ok > '\(path)' && sync '\(path)'"]).status == 0
    }

    /// Attaches an image read-only, checks it with `e2fsck -fn`, mounts it `ro,noload` and runs `body`; undoes it all.
    private func withMountedCopy(_ image: String, _ body: (String) throws -> Void) throws {
        let device = try provider.attach(image, readOnly: true)
        defer { try? provider.detach(device) }
        let check = try Shell.run(["e2fsck", "-fn", device])
        #expect(check.status == 0, "e2fsck: \(check.stdout)\(check.stderr)")
        let mountPoint = snapshots.file("check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try Shell.check(["mount", "-o", "ro,noload", device, mountPoint])
        defer { _ = try? Shell.run(["umount", mountPoint]) }
        try body(mountPoint)
    }
}
