import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// The controller's own schedule, end to end: a real cluster on a loop disk, the real programs,
/// the local provider, and `status` asked before and after the scheduled backup.
@Suite(
    "scheduled backups and status", .serialized,
    .requires(BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable, "needs the built programs and loop devices"))
struct ScheduledBackupTests {
    private func status(_ fleet: Fleet) throws -> (exit: Int32, json: [String: JSONValue]) { try fleet.status() }

    private func server(_ document: [String: JSONValue]) -> [String: JSONValue] { Fleet.firstServer(document) }

    @Test("an every-minute schedule: status is CRITICAL (no DONE backup) with the next slot, then a named backup runs by itself and status is OK")
    func everyMinute() throws {
        let disk = try LoopDisk(size: "128M", options: ["noatime"])
        defer { try? disk.detach() }
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        defer { try? cluster.stop() }
        let (snapshots, catalog) = (try TemporaryDirectory(prefix: "snapshots"), try TemporaryDirectory(prefix: "catalog"))
        let fleet = try Fleet()
        defer { fleet.stop() }
        let settings = """
            destination: file://\(catalog.path)
            provider: local
            snapshot_instance: localhost
            snapshot_disks: [pgdata]
            schedule: "* * * * *"
            backup_name: "minutely-{server}-{time}"
            local:
              snapshot_directory: \(snapshots.path)
              disks:
                pgdata: \(disk.imagePath)
            """
        try fleet.writeControllerConfig(
            servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings], topLevel: "max_concurrent_backups: 1\ntime_zone: Europe/Paris")
        try fleet.startController()
        try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        try fleet.waitForAgent()

        let before = try status(fleet)
        let first = server(before.json)
        #expect(before.exit == 2, "\(before.json)")
        #expect(first["level"] == .string("CRITICAL"))
        #expect(first["problems"] == .array([.string("no DONE backup in the catalog")]))
        #expect(first["agent_connected"] == .bool(true))
        #expect(first["schedule"] == .string("* * * * *"))
        guard case .string(let next)? = first["next_backup"], let nextDate = Timestamp.parse(next) else {
            Issue.record("no next_backup: \(first)")
            return
        }
        #expect(nextDate > Date() && nextDate.timeIntervalSinceNow <= 61)

        let done = try eventually(timeout: .seconds(150), poll: .seconds(1)) {
            guard case .object(let good)? = server(try status(fleet).json)["last_good_backup"] else { return false }
            return good["status"] == .string("DONE")
        }
        let log = fleet.controller?.log.suffix(4000) ?? ""
        try #require(done, "no scheduled backup became DONE:\n\(log)")
        let after = try status(fleet)
        #expect(after.exit == 0, "\(after.json)")
        #expect(server(after.json)["level"] == .string("OK"))
        #expect(after.json["level"] == .string("OK"))
        #expect(fleet.controller?.log.contains("scheduled backup due") == true)

        let ids = try FileManager.default.contentsOfDirectory(atPath: "\(catalog.path)/pg1/base")
        let info = try String(contentsOfFile: "\(catalog.path)/pg1/base/\(ids.sorted()[0])/backup.info", encoding: .utf8)
        #expect(info.contains("backup_name=minutely-pg1-"), "\(info)")
        #expect(info.contains("status=DONE"))

        let text = try Shell.run([BuiltProducts.path("snapfleet-controller"), "status", "--config", fleet.controllerConfig, "pg1"])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("SNAPFLEET OK - 1 servers: 1 OK, 0 WARNING, 0 CRITICAL;"), "\(text.stdout)")
    }
}
