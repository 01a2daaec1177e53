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
