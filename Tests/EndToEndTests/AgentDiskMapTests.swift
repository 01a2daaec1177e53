import Foundation
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

/// `disk_map` against the real agent, with PostgreSQL's data on a real loop-device disk.
@Suite(
    "the agent maps disks and PostgreSQL's directories", .serialized,
    .requires(BuiltProducts.exists("snapfleet-agent") && LoopDisk.isAvailable, "needs the built agent and loop devices"))
struct AgentDiskMapTests {

    @Test("a disk is found by its own name and by its xvd rename; data directory and tablespace map to it")
    func mapsLoopDisk() throws {
        let disk = try LoopDisk(size: "128M", options: ["noatime"])
        defer { try? disk.detach() }
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        let tablespace = disk.mountPoint + "/tblspc"
        _ = try Shell.check(["install", "-d", "-o", "postgres", "-m", "700", tablespace])
        _ = try cluster.psql("CREATE TABLESPACE fast LOCATION '\(tablespace)'")
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        let sdName = try #require(DeviceNames.unusedSCSIName())
        // As on a Xen instance: the provider says /dev/sdX, the kernel shows /dev/xvdX (our own symlink, removed after).
        let xvd = "/dev/xvd\(sdName.dropFirst(2))"
        try FileManager.default.createSymbolicLink(atPath: xvd, withDestinationPath: disk.devicePath)
        defer { unlink(xvd) }

        let reply = try agent.request(
            .diskMap(
                DiskMapRequest(disks: [
                    DiskReference(id: disk.imagePath, deviceName: disk.devicePath),
                    DiskReference(id: "vol-0aaaabbbbccccdddd", deviceName: "/dev/\(sdName)"),
                    DiskReference(id: "vol-0123456789abcdef0", deviceName: "/dev/sdp1nothere"),
                ])))
        guard case .diskMapResult(let result) = reply else { Issue.record("answered \(String(describing: reply))"); return }
        #expect(result.disks.count == 3)
        #expect(result.disks[0].localDevice == disk.devicePath)
        #expect(result.disks[0].mounts == [MountPoint(target: disk.mountPoint, options: "rw,noatime")])
        #expect(result.disks[1].localDevice == disk.devicePath, "found through the xvd rename")
        #expect(result.disks[2].localDevice == nil)
        #expect(result.disks[2].error?.contains("vol0123456789abcdef0") == true, "\(result.disks[2].error ?? "")")

        let data = try #require(result.paths.first { $0.role == .dataDirectory })
        #expect(data.path == cluster.dataDirectory)
        #expect(data.device == disk.devicePath)
        #expect(data.mount?.target == disk.mountPoint)
        let fast = try #require(result.paths.first { $0.role == .tablespace })
        #expect(fast.name == "fast" && fast.device == disk.devicePath)
        try cluster.stop()
    }

    @Test("gcp and azure names: the agent finds the disk's udev link, and a partition of it where the filesystem is")
    func cloudNamesAndPartitions() throws {
        // A disk with a partition table and ext4 on its first partition, as cloud images often are.
        let directory = try TemporaryDirectory(prefix: "partdisk")
        let image = directory.file("disk.img")
        _ = try Shell.check(["truncate", "-s", "64M", image])
        _ = try Shell.check(["sh", "-c", "echo 'type=83' | sfdisk -q \(image)"])
        let loop = try Shell.check(["losetup", "-f", "--show", image]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Shell.run(["losetup", "-d", loop]) }
        // The partition as a loop device of its own over its sectors (sfdisk starts it at 1 MiB):
        // this kernel makes no partition devices for loop disks.
        let partition = try Shell.check(["losetup", "-f", "--show", "-o", "1048576", "--sizelimit", String(63 << 20), image])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Shell.run(["losetup", "-d", partition]) }
        _ = try Shell.check(["mkfs.ext4", "-q", partition])
        let mountPoint = directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        _ = try Shell.check(["mount", "-o", "noatime", partition, mountPoint])
        defer { _ = try? Shell.run(["umount", mountPoint]) }
        let name = "sf-\(UUID().uuidString.prefix(8).lowercased())"
        let lun = 60 + Int.random(in: 0...3)
        // Our own links, as udev makes them on a VM (removed after).
        let links = [
            ("/dev/disk/by-id/google-\(name)", loop), ("/dev/disk/by-id/google-\(name)-part1", partition),
            ("/dev/disk/azure/scsi1/lun\(lun)", loop), ("/dev/disk/azure/scsi1/lun\(lun)-part1", partition),
            // A VM without Google's guest environment: only systemd's SCSI name.
            ("/dev/disk/by-id/scsi-0Google_PersistentDisk_\(name)-bare", loop),
            ("/dev/disk/by-id/scsi-0Google_PersistentDisk_\(name)-bare-part1", partition),
        ]
        for (link, _) in links where FileManager.default.fileExists(atPath: link) { Issue.record("\(link) exists already"); return }
        for (link, target) in links {
            try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        defer { for (link, _) in links { unlink(link) } }
        let agent = try AgentUnderTest(conninfo: try PostgresCluster.shared().conninfo)
        let reply = try agent.request(
            .diskMap(
                DiskMapRequest(disks: [
                    DiskReference(id: "pg-main-data", deviceName: name, deviceNaming: .gcp),
                    DiskReference(
                        id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", deviceName: "lun\(lun)", deviceNaming: .azure),
                    DiskReference(id: "missing", deviceName: "nosuchdevice", deviceNaming: .gcp),
                    DiskReference(id: "pg-main-bare", deviceName: "\(name)-bare", deviceNaming: .gcp),
                ])))
        guard case .diskMapResult(let result) = reply else { Issue.record("answered \(String(describing: reply))"); return }
        for placement in result.disks.prefix(2) {
            #expect(placement.localDevice == partition, "the mounted partition, not the whole disk: \(placement)")
            #expect(placement.mounts == [MountPoint(target: mountPoint, options: "rw,noatime")])
        }
        #expect(result.disks[3].localDevice == partition, "found by systemd's SCSI name: \(result.disks[3])")
        #expect(result.disks[2].localDevice == nil)
        #expect(result.disks[2].error?.contains("/dev/disk/by-id/google-nosuchdevice") == true, "\(result.disks[2].error ?? "")")
    }

    @Test("a device name outside /dev is refused before the agent looks at anything")
    func refusesPaths() throws {
        let cluster = try PostgresCluster.shared()
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        let envelope = """
            {"protocol":1,"id":"escape-1","type":"disk_map","body":{"disks":[{"id":"x","device_name":"/dev/../etc/shadow"}]}}
            """
        try agent.peer.sendRaw([Array(envelope.utf8)])
        let reply = try agent.peer.reply(to: try MessageID("escape-1"))
        guard case .error(let error)? = reply?.message else { Issue.record("answered \(String(describing: reply))"); return }
        #expect(error.code == .invalidBody)
        #expect(error.message.contains("device_name"))
    }
}
