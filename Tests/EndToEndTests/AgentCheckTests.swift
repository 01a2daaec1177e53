import Foundation
import TestSupport
import Testing

/// `snapfleet-agent check` on a real cluster whose data lives on a real loop-device disk.
@Suite(
    "snapfleet-agent check", .serialized,
    .requires(BuiltProducts.exists("snapfleet-agent") && LoopDisk.isAvailable, "needs the built agent and loop devices"))
struct AgentCheckTests {
    private func writeConfig(_ directory: TemporaryDirectory, conninfo: String) throws -> String {
        let key = try Shell.check([BuiltProducts.path("snapfleet-controller"), "keygen", "--out", directory.file("c.key")])
        let path = directory.file("agent.yaml")
        try """
        controller: tcp://127.0.0.1:1
        controller_public_key: "\(key.trimmingCharacters(in: .whitespacesAndNewlines))"
        key_file: \(directory.file("agent.key"))
        postgres: "\(conninfo)"

        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("every directory is mapped to its mount and block device, one OK line each")
    func dataOnLoopDisk() throws {
        let disk = try LoopDisk(size: "128M", options: ["noatime"])
        defer { try? disk.detach() }
        let tablespaceDirectory = disk.mountPoint + "/tblspc"
        let cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        _ = try Shell.check(["install", "-d", "-o", "postgres", "-m", "700", tablespaceDirectory])
        _ = try cluster.psql("CREATE TABLESPACE fast LOCATION '\(tablespaceDirectory)'")
        let directory = try TemporaryDirectory(prefix: "check")
        let output = try Shell.run([
            BuiltProducts.path("snapfleet-agent"), "check", "--config", try writeConfig(directory, conninfo: cluster.conninfo),
        ])

        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == 6, "\(output.stdout)")
        #expect(lines.allSatisfy { $0.hasPrefix("OK") })
        #expect(output.stdout.contains("data directory on a block device: \(disk.devicePath)"))
        #expect(output.stdout.contains("tablespace fast on a block device: \(disk.devicePath)"))
        #expect(output.stdout.contains("mounted at \(disk.mountPoint) with rw,noatime"))
        try cluster.stop()
    }

    @Test("PostgreSQL down: one FAILED line and exit status 1")
    func postgresDown() throws {
        let cluster = try PostgresCluster(start: false)
        let directory = try TemporaryDirectory(prefix: "check")
        let output = try Shell.run([
            BuiltProducts.path("snapfleet-agent"), "check", "--config", try writeConfig(directory, conninfo: cluster.conninfo),
        ])
        #expect(output.status == 1)
        #expect(output.stdout.hasPrefix("FAILED  postgres reachable:"))
    }
}
