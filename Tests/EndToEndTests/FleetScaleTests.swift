import Foundation
import Messaging
import SnapfleetCore
import TestSupport
import Testing

/// One controller, many agents (`snapfleet-fleet-agents`: real AgentServices, each with its own
/// CURVE key and server name, over real sockets), all scheduled in the same minute against moto.
/// The backups are real non-exclusive backups, in sessions of their own, on a few PostgreSQL
/// clusters the servers share; each server's EC2 volume is attached under the device name of
/// its cluster's loop disk. `SNAPFLEET_FLEET_SIZE` sets the size (20 by default; bench/fleet
/// runs 100, 300 and 1000) and the test prints what bench/fleet reports.
@Suite(
    "a fleet on one controller", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-fleet-agents") && LoopDisk.isAvailable && MotoServer.isAvailable,
        "needs the built programs, loop devices and moto"))
struct FleetScaleTests {
    static let size = Int(ProcessInfo.processInfo.environment["SNAPFLEET_FLEET_SIZE"] ?? "") ?? 20
    static let slots = Int(ProcessInfo.processInfo.environment["SNAPFLEET_FLEET_SLOTS"] ?? "") ?? 16

    @Test(
        "every server backed up once by the schedule in the same minute: max_concurrent_backups held, each DONE or FAILED with a reason, every snapshot recorded"
    )
    func scheduledRound() throws {
        let stand = try FleetStand(size: Self.size, slots: Self.slots)
        defer { stand.tearDown() }
        let round = try stand.runRound()
        let servers = stand.servers

        #expect(round.peakRunning <= Self.slots, "max_concurrent_backups \(Self.slots), seen \(round.peakRunning)")
        let unfinished = servers.filter { round.outcomes[$0] == nil }
        let stuckLog = (stand.fleet.controller?.log ?? "").split(separator: "\n").filter { line in
            unfinished.prefix(3).contains { line.contains("server=\($0)") } && !line.contains("WAL URLs")
        }.suffix(40).joined(separator: "\n")
        #expect(unfinished.isEmpty, "no DONE or FAILED backup for \(unfinished.prefix(10)):\n\(stuckLog)")
        let failed = round.outcomes.filter { $0.value.status != "DONE" }
        for (server, outcome) in failed { #expect(outcome.error?.isEmpty == false, "\(server) \(outcome.status) without a reason") }
        #expect(failed.isEmpty, "\(failed.count) failed, e.g. \(failed.prefix(3).map { "\($0.key): \($0.value.error ?? "-")" })")

        // Every snapshot in EC2 belongs to the backup its server's catalog records.
        let snapshots = try stand.snapshotTags()
        let recorded = Set(round.outcomes.map { "\($0.key) \($0.value.backupID)" })
        let unrecorded = snapshots.filter { !recorded.contains("\($0.server) \($0.backupID)") }
        #expect(unrecorded.isEmpty, "snapshots no backup records: \(unrecorded.prefix(5))")
        let done = round.outcomes.filter { $0.value.status == "DONE" }
        #expect(
            snapshots.count == done.count,
            "one snapshot per DONE backup: \(snapshots.prefix(5)) for \(done.prefix(5).map { "\($0.key) \($0.value.backupID)" })")

        let report = round.report(size: Self.size, slots: Self.slots)
        print("FLEET-RESULT \(report)")
    }
}

/// What one round measured.
struct FleetRound {
    struct Outcome {
        let backupID: String
        let status: String
        let error: String?
        let finishedAt: Date?
    }

    var outcomes: [String: Outcome] = [:]
    var peakRunning = 0
    var seconds = 0.0
    var controllerPeakMB = 0.0
    var controllerCPUSeconds = 0.0
    var motoCPUSeconds = 0.0
    var messages = 0.0
    var apiCalls = 0.0

    /// One JSON line.
    func report(size: Int, slots: Int) -> String {
        let done = outcomes.values.filter { $0.status == "DONE" }.count
        let fields: [String: Double] = [
            "servers": Double(size), "slots": Double(slots), "done": Double(done), "round_seconds": seconds,
            "controller_peak_mb": controllerPeakMB, "controller_cpu_seconds": controllerCPUSeconds, "moto_cpu_seconds": motoCPUSeconds,
            "controller_cpu_ms_per_server": controllerCPUSeconds * 1000 / Double(max(size, 1)), "messages_per_second": messages / max(seconds, 0.001),
            "api_calls_per_backup": apiCalls / Double(max(done, 1)), "peak_running": Double(peakRunning),
        ]
        let body = fields.keys.sorted().map { "\"\($0)\": \((fields[$0]! * 100).rounded() / 100)" }.joined(separator: ", ")
        return "{\(body)}"
    }
}

/// moto with `size` instances and volumes, a few clusters on loop disks, the controller, and
/// one `snapfleet-fleet-agents` process holding every agent.
final class FleetStand {
    let moto: MotoServer
    let fleet: Fleet
    let servers: [String]
    let bucket = "fleet-\(UUID().uuidString.prefix(8).lowercased())"
    let metricsPort = freeTCPPort()
    /// The one minute every server is scheduled for: far enough ahead for every agent to connect
    /// (a schedule of every minute would start a second round when one takes over a minute).
    private(set) var slot = Date.distantFuture
    private var disks: [LoopDisk] = []
    private var clusters: [PostgresCluster] = []
    private var devices: [String] = []
    private var agents: ProgramProcess?

    /// `clusters`: how many PostgreSQL clusters the servers share (server i uses cluster i mod clusters).
    init(size: Int, slots: Int, clusters clusterCount: Int = 2) throws {
        // A thousand agents hold several descriptors each (their ZeroMQ contexts, sockets and
        // local sockets): the agents' process inherits this process's limit, raised to the hard one.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        moto = try MotoServer(enforcingSignatures: false)
        fleet = try Fleet()
        servers = (0..<size).map { String(format: "pg%04d", $0) }
        for _ in 0..<clusterCount {
            // Each backup switches WAL segments: 1 MiB segments and a small max_wal_size keep pg_wal
            // (and the checkpoints that recycle it) within the disk however many backups run.
            let disk = try LoopDisk(size: "512M", options: ["noatime"])
            disks.append(disk)
            guard let device = DeviceNames.unusedSCSIName() else { throw FleetError("no free /dev/sdX name") }
            try FileManager.default.createSymbolicLink(atPath: "/dev/\(device)", withDestinationPath: disk.devicePath)
            devices.append(device)
            let connections = String(max(100, size / clusterCount * 2 + 20))
            clusters.append(
                try PostgresCluster(
                    settings: [
                        "max_connections": connections, "shared_buffers": "32MB", "max_wal_senders": "0", "max_wal_size": "64MB",
                        "min_wal_size": "8MB",
                    ], initdbArguments: ["--wal-segsize=1"], dataDirectory: disk.mountPoint + "/data"))
        }
        let volumes = try createInstances()
        let startup = 20 + Double(size) / 15
        slot = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + startup) / 60).rounded(.up) * 60)
        try writeControllerConfig(volumes: volumes, slots: slots)
        // Info, as a fleet runs it: debug logs every message of a thousand agents.
        try fleet.startController(
            environment: ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey], logLevel: "info")
        try startAgents()
    }

    /// One instance per server, each with a volume attached under its cluster's device name; returns (instance, volume) per server.
    private func createInstances() throws -> [(String, String)] {
        let output = try moto.boto3(
            """
            s3.create_bucket(Bucket="\(bucket)")
            devices = \(devices.map { "/dev/\($0)" })
            ids = []
            while len(ids) < \(servers.count):
                run = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=min(500, \(servers.count) - len(ids)),
                    Placement={"AvailabilityZone": "us-east-1a"})
                ids += [i["InstanceId"] for i in run["Instances"]]
            pairs = []
            for k, instance in enumerate(ids):
                volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
                ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device=devices[k % len(devices)])
                pairs.append([instance, volume])
            print(json.dumps(pairs))
            """)
        return try JSONDecoder().decode([[String]].self, from: Data(output.utf8)).map { ($0[0], $0[1]) }
    }

    private func writeControllerConfig(volumes: [(String, String)], slots: Int) throws {
        var keys: [String: String] = [:]
        var settings: [String: String] = [:]
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let minute = utc.dateComponents([.hour, .minute], from: slot)
        try FileManager.default.createDirectory(atPath: fleet.directory.file("agents"), withIntermediateDirectories: true)
        for (index, server) in servers.enumerated() {
            let pair = try CurveKeyPair.generate()
            try KeyFile.write(pair, to: fleet.directory.file("agents/\(server).key"))
            keys[server] = pair.publicKey.z85
            let (instance, volume) = volumes[index]
            settings[server] = """
                destination: s3://\(bucket)/fleet
                provider: aws
                snapshot_instance: \(instance)
                snapshot_disks: [\(volume)]
                tags: {server: \(server)}
                schedule: "\(minute.minute!) \(minute.hour!) * * *"
                aws:
                  region: \(moto.region)
                  endpoint_url: \(moto.endpoint)
                """
            try writeAgentConfig(server, cluster: clusters[index % clusters.count])
        }
        try fleet.writeControllerConfig(
            servers: keys, heartbeatMs: 5000, settings: settings,
            topLevel: "time_zone: UTC\nmax_concurrent_backups: \(slots)\nmetrics_listen: 127.0.0.1:\(metricsPort)\napi_calls_per_second: {aws: 1000}")
    }

    private func writeAgentConfig(_ server: String, cluster: PostgresCluster) throws {
        let text = """
            controller: tcp://127.0.0.1:\(fleet.port)
            controller_public_key: "\(fleet.controllerPublicKey)"
            key_file: \(fleet.directory.file("agents/\(server).key"))
            postgres: "\(cluster.conninfo)"
            server: \(server)
            local_socket: \(fleet.directory.file("agents/\(server).sock"))
            wal_upload_concurrency: 1
            facts_interval_seconds: 300

            """
        try text.write(toFile: fleet.directory.file("agents/\(server).yaml"), atomically: true, encoding: .utf8)
    }

    private func startAgents() throws {
        let process = try ProgramProcess(
            BuiltProducts.path("snapfleet-fleet-agents"), [fleet.directory.file("agents"), "warning"], logPath: fleet.directory.file("agents.log"))
        agents = process
        let connected = try eventually(timeout: .seconds(60 + servers.count / 10), poll: .seconds(1)) {
            try fleet.listAgents().filter { $0["connected"] == .bool(true) }.count == servers.count
        }
        guard connected else { throw FleetError("not every agent connected:\n\(process.log.suffix(3000))") }
    }

    /// Waits for the slot, then until every server's newest backup is DONE or FAILED.
    func runRound() throws -> FleetRound {
        var round = FleetRound()
        let started = slot
        let deadline = started.addingTimeInterval(Double(300 + servers.count))
        // CPU from the slot on: before it the controller only answers heartbeats and status polls.
        Thread.sleep(until: started)
        let cpuBefore = Self.cpuSeconds(of: fleet.controller?.pid)
        let motoBefore = Self.cpuSeconds(of: moto.pid)
        let callsBefore = try apiCalls()
        let messagesBefore = messageCount()
        while Date() < deadline {
            // Every few seconds: status of a thousand servers has a cost of its own, in the controller.
            Thread.sleep(forTimeInterval: 3)
            let status = try fleet.status()
            if case .object(let summary)? = status.json["fleet"], case .number(let running)? = summary["backups_running"] {
                round.peakRunning = max(round.peakRunning, Int(running))
            }
            guard Date() > started else { continue }
            round.outcomes = Self.outcomes(status.json, after: started)
            if round.outcomes.count == servers.count { break }
        }
        // The round ends when the last backup finished, as the backups themselves recorded it.
        let lastFinish = round.outcomes.values.compactMap(\.finishedAt).max() ?? Date()
        round.seconds = lastFinish.timeIntervalSince(started)
        round.controllerCPUSeconds = Self.cpuSeconds(of: fleet.controller?.pid) - cpuBefore
        round.motoCPUSeconds = Self.cpuSeconds(of: moto.pid) - motoBefore
        round.controllerPeakMB = controllerPeakMB()
        round.apiCalls = try apiCalls() - callsBefore
        round.messages = messageCount() - messagesBefore
        return round
    }

    /// Each server whose newest backup began at or after `started` and has ended.
    private static func outcomes(_ document: [String: JSONValue], after started: Date) -> [String: FleetRound.Outcome] {
        guard case .array(let rows)? = document["servers"] else { return [:] }
        var outcomes: [String: FleetRound.Outcome] = [:]
        for case .object(let row) in rows {
            guard case .string(let server)? = row["server"], case .object(let last)? = row["last_backup"],
                case .string(let id)? = last["backup_id"], case .string(let status)? = last["status"], status == "DONE" || status == "FAILED",
                case .string(let begun)? = last["started_at"], let begin = Timestamp.parse(begun), begin >= started.addingTimeInterval(-1)
            else { continue }
            let error: String? = if case .string(let text)? = last["error"] { text } else { nil }
            let finished: Date? = if case .string(let text)? = last["finished_at"] { Timestamp.parse(text) } else { nil }
            outcomes[server] = FleetRound.Outcome(backupID: id, status: status, error: error, finishedAt: finished)
        }
        return outcomes
    }

    /// Every snapshot in moto, by its `server` and `snapfleet_backup_id` tags.
    func snapshotTags() throws -> [(server: String, backupID: String)] {
        let output = try moto.boto3(
            """
            found = []
            for page in ec2.get_paginator("describe_snapshots").paginate():
                for snapshot in page["Snapshots"]:
                    tags = {t["Key"]: t["Value"] for t in snapshot.get("Tags", [])}
                    found.append([tags.get("server", ""), tags.get("snapfleet_backup_id", "")])
            print(json.dumps(found))
            """)
        return try JSONDecoder().decode([[String]].self, from: Data(output.utf8)).map { ($0[0], $0[1]) }
    }

    private func apiCalls() throws -> Double {
        try AWSBackupTests.scrape("http://127.0.0.1:\(metricsPort)/metrics").filter { $0.name == "snapfleet_cloud_api_calls_total" }
            .reduce(0) { $0 + $1.value }
    }

    private func messageCount() -> Double {
        ((try? AWSBackupTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")) ?? []).filter { $0.name == "snapfleet_messages_total" }
            .reduce(0) { $0 + $1.value }
    }

    /// User and system CPU seconds `pid` has used so far (0 when it cannot be read).
    private static func cpuSeconds(of pid: pid_t?) -> Double {
        guard let pid, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based, man proc).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func controllerPeakMB() -> Double {
        guard let pid = fleet.controller?.pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }

    func tearDown() {
        agents?.stop(timeout: .seconds(30))
        fleet.stop()
        for cluster in clusters { try? cluster.stop(mode: "immediate") }
        for device in devices { unlink("/dev/\(device)") }
        for disk in disks { try? disk.detach() }
    }
}
