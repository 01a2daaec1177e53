import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// `snapfleet-controller check` with the local provider: a real loop disk, a real cluster on it,
/// the real controller asking the real agent where the data lives.
@Suite(
    "pre-flight checks", .serialized,
    .requires(BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable, "needs the built programs and loop devices"))
struct PreflightCheckTests {
    private func check(_ fleet: Fleet, format: String = "text") throws -> ProcessOutput {
        try Shell.run([BuiltProducts.path("snapfleet-controller"), "check", "--config", fleet.controllerConfig, "pg1", "--format", format])
    }

    private func startFleet(disk: LoopDisk, cluster: PostgresCluster, snapshots: TemporaryDirectory) throws -> Fleet {
        let fleet = try Fleet()
        let key = try fleet.agentKey("pg1")
        let settings = """
            provider: local
            snapshot_instance: localhost
            snapshot_disks: [pgdata]
            local:
              snapshot_directory: \(snapshots.path)
              disks:
                pgdata: \(disk.imagePath)
            """
        try fleet.writeControllerConfig(servers: ["pg1": key], settings: ["pg1": settings])
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        try fleet.waitForAgent()
        return fleet
    }

    @Test("data on the listed disk: every check passes, one line each")
    func allPass() throws {
        let disk = try LoopDisk(size: "128M", options: ["noatime"])
        defer { try? disk.detach() }
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        defer { try? cluster.stop() }
        let snapshots = try TemporaryDirectory(prefix: "snapshots")
        let fleet = try startFleet(disk: disk, cluster: cluster, snapshots: snapshots)

        let output = try check(fleet)
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.hasPrefix("OK") }, "\(output.stdout)")
        #expect(output.stdout.contains("disk pgdata mounted on the host: \(disk.devicePath) at \(disk.mountPoint) (rw,noatime)"))
        #expect(output.stdout.contains("data directory on a listed disk: \(cluster.dataDirectory) on \(disk.devicePath) (disk pgdata)"))
        #expect(output.stdout.contains("archive_mode on: on"))

        let json = try check(fleet, format: "json")
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"passed\" : true"))
    }

    @Test("a tablespace off the listed disks fails coverage with a hint, and the exit status is 1")
    func tablespaceOffDisk() throws {
        let disk = try LoopDisk(size: "128M")
        defer { try? disk.detach() }
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        defer { try? cluster.stop() }
        let elsewhere = try cluster.makePostgresDirectory("elsewhere")
        _ = try cluster.psql("CREATE TABLESPACE stray LOCATION '\(elsewhere)'")
        let snapshots = try TemporaryDirectory(prefix: "snapshots")
        let fleet = try startFleet(disk: disk, cluster: cluster, snapshots: snapshots)

        let output = try check(fleet)
        #expect(output.status == 1)
        #expect(output.stdout.contains("FAILED  tablespace stray on a listed disk: \(elsewhere) is on"), "\(output.stdout)")
        #expect(output.stdout.contains("(hint: add its disk to snapshot_disks)"))
        #expect(output.stdout.contains("OK      data directory on a listed disk"))
    }

    @Test("an image that is not attached fails the disk check, naming it")
    func detachedImage() throws {
        let disk = try LoopDisk(size: "64M")
        defer { try? disk.detach() }
        let cluster = try PostgresCluster.shared()
        let snapshots = try TemporaryDirectory(prefix: "snapshots")
        let loose = snapshots.file("loose.img")
        _ = try Shell.check(["truncate", "-s", "16M", loose])
        let fleet = try Fleet()
        let settings = """
            provider: local
            snapshot_instance: localhost
            snapshot_disks: [\(loose)]
            local:
              snapshot_directory: \(snapshots.path)
            """
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings])
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        _ = try eventually { try fleet.agent("pg1")?["connected"] == .bool(true) }

        let output = try check(fleet)
        #expect(output.status == 1)
        #expect(output.stdout.contains("FAILED  disks attached to localhost:"), "\(output.stdout)")
        #expect(output.stdout.contains("loose.img"))
    }
}
