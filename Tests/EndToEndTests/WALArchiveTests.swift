import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// WAL archiving through `archive_command = 'snapfleet-agent wal-push %p'` and fetching through
/// `restore_command = 'snapfleet-agent wal-fetch %f %p'`: the real PostgreSQL, agent and
/// controller, moto's S3 behind a proxy that checks every signature (presigned ones included).
@Suite(
    "WAL archiving with URLs the controller signs", .serialized,
    .requires(BuiltProducts.exists("snapfleet-agent") && MotoServer.isAvailable, "needs the built programs and moto"))
struct WALArchiveTests {
    @Test("110 segments archived with zstd through presigned URLs: each object decompresses to its segment, no archiver failure")
    func archivesEverySegment() throws {
        let setup = try WALSetup(compression: "zstd")
        let last = try setup.switchSegments(110)
        try setup.waitUntilArchived(last)
        let check = try setup.compareArchive()
        #expect(check.compared >= 110, "\(check)")
        #expect(check.different.isEmpty, "\(check)")
        #expect(try setup.archiverFailures() == 0)
        #expect(setup.fleet.controller?.log.contains("WAL URL issued") == true, "the controller logs every URL it signs")
        #expect(!setup.s3.log.contains("refused"), "every request carried a valid signature:\n\(setup.s3.log.suffix(2000))")
        #expect(setup.s3.log.contains("PUT /\(setup.bucket)/catalog/pg1/wals/"), "uploads went straight to the store")

        let reported = try eventually(timeout: .seconds(10)) { try setup.walArchiving()["last_archived_wal"] == .string(last) }
        let archiving = try setup.walArchiving()
        #expect(reported, "status shows the last segment archived: \(archiving)")
        #expect(archiving["failed_count"] == .number(0))
        guard case .number(let count)? = archiving["archived_count"], case .number(let inHand)? = archiving["urls_in_hand"] else {
            Issue.record("no counts in \(archiving)")
            return
        }
        #expect(count >= 110)
        #expect(inHand > 0, "the agent holds URLs for the segments to come")
    }

    @Test("a standby replays the archive with wal-fetch, is promoted, and archives its timeline history file (gzip)")
    func promotionArchivesHistory() throws {
        let setup = try WALSetup(compression: "gzip")
        _ = try setup.psql("CREATE TABLE marker (id int); INSERT INTO marker SELECT generate_series(1, 1000)")
        let last = try setup.switchSegments(5)
        try setup.waitUntilArchived(last)
        try setup.cluster.stop()
        try setup.cluster.configure(["restore_command": "\(setup.agentProgram) wal-fetch --config \(setup.agentConfig) %f %p"])
        try setup.cluster.touch("standby.signal")
        try setup.cluster.start()
        try setup.cluster.promote()
        #expect(try eventually(timeout: .seconds(30)) { try setup.storedKeys().contains("catalog/pg1/wals/00000002.history.gz") })
        #expect(try setup.psql("SELECT count(*) FROM marker") == "1000", "the data came back through the archive")
        #expect(try setup.archiverFailures() == 0)
        #expect(setup.agent.log.contains("WAL not fetched") == false)
    }

    @Test("a file:// archive: the bytes go through the controller, and wal-fetch reads them back")
    func fileArchiveThroughTheController() throws {
        let catalog = try TemporaryDirectory(prefix: "wal-catalog")
        let setup = try WALSetup(compression: "gzip", fileCatalog: catalog.path)
        let last = try setup.switchSegments(12)
        try setup.waitUntilArchived(last)
        let stored = try FileManager.default.contentsOfDirectory(atPath: catalog.file("pg1/wals/\(last.prefix(16))"))
        #expect(stored.contains("\(last).gz"), "\(stored)")
        let fetched = setup.fleet.directory.file("fetched")
        let fetch = try Shell.run([setup.agentProgram, "wal-fetch", "--config", setup.agentConfig, last, fetched])
        #expect(fetch.status == 0, "\(fetch.stderr)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: fetched))
                == Data(contentsOf: URL(fileURLWithPath: setup.cluster.dataDirectory + "/pg_wal/" + last)))
        let missing = try Shell.run([setup.agentProgram, "wal-fetch", "--config", setup.agentConfig, "0000000100000000000000FF", fetched + "2"])
        #expect(missing.status == 1, "a file not in the archive: exit 1, so recovery ends normally (\(missing.stderr))")
        #expect(!setup.s3.log.contains("PUT /\(setup.bucket)/"), "nothing went to the object store")
    }

    @Test("a segment already archived with other content is refused, logged by both sides, and never overwritten")
    func conflictingSegmentRefused() throws {
        let setup = try WALSetup(compression: "none")
        let next = try setup.psql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        let key = "catalog/pg1/wals/\(next.prefix(16))/\(next)"
        try setup.s3.boto3("s3.put_object(Bucket=\"\(setup.bucket)\", Key=\"\(key)\", Body=b\"somebody else's WAL\")")
        _ = try setup.switchSegments(1)
        #expect(try eventually(timeout: .seconds(30)) { try setup.archiverFailures() > 0 }, "PostgreSQL sees wal-push fail")
        #expect(
            try setup.s3.boto3("print(s3.get_object(Bucket=\"\(setup.bucket)\", Key=\"\(key)\")[\"Body\"].read().decode())")
                == "somebody else's WAL\n")
        #expect(setup.agent.log.contains("already holds a different \(next)"), "\(setup.agent.log.suffix(2000))")
        #expect(setup.cluster.logTail(lines: 200).contains("already holds a different \(next)"), "wal-push says why, in PostgreSQL's log")

        // The stall shows in status: the file waits, archiving is failing, and the exit status says so.
        let stalled = try eventually(timeout: .seconds(10)) { try setup.walArchiving()["last_failed_wal"] == .string(next) }
        let status = try setup.fleet.status("pg1")
        let server = Fleet.firstServer(status.json)
        #expect(stalled, "\(server)")
        guard case .object(let archiving)? = server["wal_archiving"], case .array(let problems)? = server["problems"] else {
            Issue.record("no wal_archiving in \(server)")
            return
        }
        #expect(archiving["waiting"] == .number(1), "\(archiving)")
        #expect(archiving["oldest_waiting_since"] != nil)
        #expect(problems.contains { if case .string(let text) = $0 { text.hasPrefix("WAL archiving is failing: \(next): ") } else { false } })
        #expect(status.exit >= 1)
        let text = try Shell.run([BuiltProducts.path("snapfleet-controller"), "status", "--config", setup.fleet.controllerConfig, "pg1"])
        #expect(text.stdout.contains("1 waiting"), "\(text.stdout)")
        #expect(text.stdout.contains("failing"), "\(text.stdout)")
    }

    @Test("store errors (503s, dropped connections, bodies damaged on the way) are retried: all archived, nothing acknowledged early")
    func storeFaultsAreRetried() throws {
        let setup = try WALSetup(compression: "none")
        try setup.s3.injectFaults([
            ["method": "PUT", "status": 503, "count": 5], ["method": "PUT", "reset_connection": true, "count": 2],
            ["method": "PUT", "status": 500, "count": 3], ["method": "PUT", "corrupt_body": true, "count": 2],
        ])
        let last = try setup.switchSegments(20)
        try setup.waitUntilArchived(last)
        let check = try setup.compareArchive()
        #expect(check.compared >= 20 && check.different.isEmpty, "\(check)")
        #expect(setup.s3.log.contains("fault 503"), "the faults were injected")
        #expect(setup.s3.log.contains("refused 400 BadDigest"), "damaged bodies were refused by their Content-MD5, then sent again")
    }

    @Test("the controller stopped: archiving goes on with the URLs in hand, then fails cleanly, and resumes by itself when it returns")
    func controllerOutage() throws {
        let setup = try WALSetup(compression: "none")
        try setup.waitUntilArchived(try setup.switchSegments(3))
        setup.fleet.controller?.stop()
        let inHand = try setup.switchSegments(20)
        try setup.waitUntilArchived(inHand)
        #expect(try setup.archiverFailures() == 0, "archived without the controller, on the URLs the agent held")
        let beyond = try setup.switchSegments(70)
        #expect(try eventually(timeout: .seconds(60)) { try setup.archiverFailures() > 0 }, "past the URLs in hand, wal-push fails")
        try setup.startController()
        _ = try setup.switchSegments(1)  // wakes PostgreSQL's archiver, which otherwise waits a minute after failures
        try setup.waitUntilArchived(beyond)
        let check = try setup.compareArchive()
        #expect(check.compared >= 94 && check.different.isEmpty, "\(check)")
    }

    @Test("the agent restarted mid-stream: archiving resumes and the archive is complete")
    func agentRestarted() throws {
        let setup = try WALSetup(compression: "zstd")
        _ = try setup.switchSegments(10)
        kill(setup.agent.pid, SIGKILL)
        _ = setup.agent.waitForExit(timeout: .seconds(5))
        let last = try setup.switchSegments(10)
        try setup.restartAgent()
        try setup.waitUntilArchived(last)
        let check = try setup.compareArchive()
        #expect(check.compared >= 20 && check.different.isEmpty, "\(check)")
    }
}

/// A controller, an agent and a PostgreSQL whose `archive_command` is `snapfleet-agent wal-push`,
/// archiving into a bucket of a `VerifyingS3`. Segments are 1 MiB (`initdb --wal-segsize=1`) and
/// kept in `pg_wal` (`wal_keep_size`), so each archived object can be compared with its segment.
final class WALSetup {
    let s3: VerifyingS3
    let fleet: Fleet
    let cluster: PostgresCluster
    let bucket: String
    let agentConfig: String
    let compression: String
    private(set) var agent: ProgramProcess
    var agentProgram: String { BuiltProducts.path("snapfleet-agent") }

    /// `fileCatalog`: archive into `file://` there (through the controller) instead of the bucket.
    init(compression: String, fileCatalog: String? = nil) throws {
        self.compression = compression
        s3 = try VerifyingS3()
        bucket = "wal-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.boto3("s3.create_bucket(Bucket=\"\(bucket)\")")
        fleet = try Fleet()
        // PostgreSQL's archive_command runs as postgres: it must reach the agent's config and socket.
        chmod(fleet.directory.path, 0o755)
        agentConfig = fleet.directory.file("agent1.yaml")
        cluster = try PostgresCluster(
            settings: [
                "archive_command": "\(BuiltProducts.path("snapfleet-agent")) wal-push --config \(agentConfig) %p", "wal_keep_size": "1GB",
                "archive_timeout": "0",
            ], initdbArguments: ["--wal-segsize=1"], start: false)
        let settings = """
            destination: \(fileCatalog.map { "file://\($0)" } ?? "s3://\(bucket)/catalog")
            wal_compression: \(compression)
            aws:
              region: \(s3.region)
              endpoint_url: \(s3.endpoint)
            """
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings])
        try fleet.startController(environment: Self.credentials)
        _ = try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo)
        try cluster.start()
        agent = try fleet.startAgent(config: agentConfig, name: "agent1")
        try waitForAgent()
    }

    deinit {
        fleet.stop()
        try? cluster.stop(mode: "immediate")
    }

    /// Starts (or restarts) the controller, with the S3 credentials in its environment only.
    func startController() throws { try fleet.startController(environment: Self.credentials) }

    static let credentials = ["AWS_ACCESS_KEY_ID": VerifyingS3.accessKeyID, "AWS_SECRET_ACCESS_KEY": VerifyingS3.secretAccessKey]

    /// Starts the agent again (after the test killed it).
    func restartAgent() throws {
        agent = try fleet.startAgent(config: agentConfig, name: "agent1-restarted")
        try waitForAgent()
    }

    private func waitForAgent() throws {
        try fleet.waitForAgent(log: agent)
    }

    @discardableResult
    func psql(_ sql: String) throws -> String { try cluster.psql(sql) }

    /// Writes a little and switches segments `count` times; returns the last segment completed.
    func switchSegments(_ count: Int) throws -> String {
        _ = try psql("CREATE TABLE IF NOT EXISTS churn (id int)")
        var last = ""
        for _ in 0..<count {
            last = try psql("INSERT INTO churn VALUES (1); SELECT pg_walfile_name(pg_switch_wal())")
        }
        return last
    }

    /// Waits until PostgreSQL reports `segment` archived.
    func waitUntilArchived(_ segment: String, timeout: Duration = .seconds(90)) throws {
        let done = try eventually(timeout: timeout, poll: .milliseconds(200)) {
            let last = try psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
            return last.prefix(24) >= segment.prefix(24)
        }
        guard done else {
            throw FleetError(
                "\(segment) not archived: \(try psql("SELECT * FROM pg_stat_archiver"))\n\(agent.log.suffix(3000))\n\(cluster.logTail())")
        }
    }

    /// The `wal_archiving` object `status` shows for pg1 (empty when there is none).
    func walArchiving() throws -> [String: JSONValue] {
        guard case .object(let archiving)? = Fleet.firstServer(try fleet.status("pg1").json)["wal_archiving"] else { return [:] }
        return archiving
    }

    /// `pg_stat_archiver.failed_count`.
    func archiverFailures() throws -> Int { Int(try psql("SELECT failed_count FROM pg_stat_archiver")) ?? -1 }

    /// Every object key in the bucket.
    func storedKeys() throws -> [String] {
        try s3.boto3(
            """
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="\(bucket)"):
                keys += [o["Key"] for o in page.get("Contents", [])]
            print("\\n".join(keys))
            """
        ).split(separator: "\n").map(String.init)
    }

    /// Compares every archived segment, decompressed, with the file in `pg_wal`.
    func compareArchive() throws -> (compared: Int, different: [String]) {
        let output = try s3.boto3(
            """
            import gzip, os, subprocess
            compared, different = 0, []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="\(bucket)", Prefix="catalog/pg1/wals/"):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    name = key.rsplit("/", 1)[1].split(".")[0]
                    if len(name) != 24:
                        continue
                    body = s3.get_object(Bucket="\(bucket)", Key=key)["Body"].read()
                    if key.endswith(".gz"):
                        body = gzip.decompress(body)
                    elif key.endswith(".zst"):
                        body = subprocess.run(["zstd", "-d", "-c"], input=body, capture_output=True, check=True).stdout
                    local = os.path.join("\(cluster.dataDirectory)", "pg_wal", name)
                    compared += 1
                    if not os.path.exists(local) or open(local, "rb").read() != body:
                        different.append(key)
            print(json.dumps({"compared": compared, "different": different}))
            """)
        struct Check: Decodable {
            let compared: Int
            let different: [String]
        }
        let check = try JSONDecoder().decode(Check.self, from: Data(output.utf8))
        return (check.compared, check.different)
    }
}
