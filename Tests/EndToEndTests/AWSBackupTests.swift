import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// `snapfleet-controller backup` with the AWS provider against moto: the instance and volume
/// exist in moto, the volume's device name resolves on this host to a real loop disk holding
/// PostgreSQL, and the catalog goes to an S3 bucket.
@Suite(
    "AWS snapshot backups on moto", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && MotoServer.isAvailable,
        "needs the built programs, loop devices and moto"))
struct AWSBackupTests {
    @Test("a DONE backup (signing enforced): EBS snapshot tagged as barman names it, backup.info and backup_label in the bucket")
    func done() throws {
        let moto = try MotoServer.shared()
        let scenario = try AWSScenario(moto: moto)
        let id = try scenario.backup()

        let stored = try moto.boto3(
            """
            info = s3.get_object(Bucket="\(scenario.bucket)", Key="catalog/pg1/base/\(id)/backup.info")["Body"].read().decode()
            label = s3.get_object(Bucket="\(scenario.bucket)", Key="catalog/pg1/base/\(id)/backup_label")["Body"].read().decode()
            snaps = ec2.describe_snapshots(Filters=[{"Name": "tag:Name", "Values": ["pgdata-\(scenario.suffix)-\(id.lowercased())"]}])["Snapshots"]
            print(json.dumps({"info": info, "label": label, "tags": [s.get("Tags", []) for s in snaps]}))
            """)
        let result = try JSONDecoder().decode(Stored.self, from: Data(stored.utf8))
        #expect(result.info.contains("status=DONE\n"), "\(result.info)")
        #expect(result.info.contains("'provider': 'aws'"))
        #expect(result.info.contains("'device_name': '/dev/\(scenario.device)'"))
        #expect(result.info.contains("'mount_point': '\(scenario.disk.mountPoint)'"))
        #expect(result.label.contains("LABEL: snapfleet backup pg1 \(id)"))
        #expect(result.tags.count == 1, "one snapshot named <disk>-<backup id lower-cased>")
        let tags = Dictionary(uniqueKeysWithValues: (result.tags.first ?? []).map { ($0.Key, $0.Value) })
        #expect(tags["team"] == "payments")
        #expect(tags["snapfleet_backup_id"] == id)
        // PostgreSQL's archive_command here is not wal-push: the agent must not upload its WAL by itself.
        let walKeys = try moto.boto3(
            // No Prefix: signature-enforcing moto wrongly refuses listings with '/' in it.
            "print(len([o for o in s3.list_objects_v2(Bucket=\"\(scenario.bucket)\").get(\"Contents\", []) if \"/wals/\" in o[\"Key\"]]))")
        #expect(walKeys.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "no WAL uploaded ahead for another tool's archive_command")
    }

    @Test("/metrics after a backup, read by prometheus_client's parser: the backup, its window, the EC2 calls, the agent, the level")
    func metricsAfterBackup() throws {
        let moto = try MotoServer.shared()
        let port = freeTCPPort()
        let scenario = try AWSScenario(moto: moto, controllerSettings: "metrics_listen: 127.0.0.1:\(port)")
        _ = try scenario.backup()
        let samples = try Self.scrape("http://127.0.0.1:\(port)/metrics")
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("snapfleet_backups_total", ["server": "pg1", "status": "DONE"]) == 1, "\(samples.map(\.name))")
        #expect(value("snapfleet_backup_window_seconds_count") == 1)
        #expect(value("snapfleet_backup_window_seconds_bucket", ["le": "+Inf"]) == 1)
        #expect(value("snapfleet_snapshot_wait_seconds_count") == 1)
        #expect(value("snapfleet_backup_duration_seconds_sum").map { $0 > 0 } == true)
        #expect(value("snapfleet_agents_connected") == 1)
        #expect(value("snapfleet_agent_connected", ["server": "pg1"]) == 1)
        // The level is status's judgement (here WARNING: signature-enforcing moto wrongly refuses
        // listings with a prefix, so the catalog could not be read at start).
        let status = Fleet.firstServer(try scenario.fleet.status("pg1").json)
        let level: Double? =
            switch status["level"] {
            case .string("OK"): 0
            case .string("WARNING"): 1
            case .string("CRITICAL"): 2
            default: nil
            }
        #expect(level != nil && value("snapfleet_server_level", ["server": "pg1"]) == level, "\(status)")
        #expect(value("snapfleet_backups_running") == 0)
        for action in ["CreateSnapshot", "DescribeSnapshots", "DescribeInstances"] {
            let calls = value("snapfleet_cloud_api_calls_total", ["provider": "aws", "action": action])
            #expect(calls.map { $0 >= 1 } == true, "\(action): \(samples.filter { $0.name.hasPrefix("snapfleet_cloud") })")
        }
        let missing = try Shell.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/other"])
        #expect(missing.stdout == "404")
    }

    /// One sample of a scraped page.
    struct Sample: Decodable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// Fetches a metrics page and parses it with `prometheus_client.parser` (which refuses what is not the format).
    static func scrape(_ url: String) throws -> [Sample] {
        let script = """
            import json, sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4"), response.headers["Content-Type"]
                text = response.read().decode()
            samples = [{"name": s.name, "labels": s.labels, "value": s.value}
                       for family in text_string_to_metric_families(text) for s in family.samples]
            print(json.dumps(samples))
            """
        let output = try Shell.run(["python3", "-c", script, url])
        guard output.status == 0 else { throw FleetError("scrape failed: \(output.stderr)") }
        return try JSONDecoder().decode([Sample].self, from: Data(output.stdout.utf8))
    }

    @Test(
        "barman-cloud-backup-list and -show read a snapfleet backup and show what snapfleet wrote",
        .requires(BarmanCloud.isAvailable, "needs barman-cloud (Python 3.12+, scripts/setup)"))
    func barmanReadsTheCatalog() throws {
        // A plain moto: it wrongly refuses correctly signed listings with '/' in the prefix,
        // which barman's own boto3 sends; snapfleet's signing is tested in `done`.
        let moto = try MotoServer(enforcingSignatures: false)
        let scenario = try AWSScenario(moto: moto)
        let id = try scenario.backup()
        let source = "s3://\(scenario.bucket)/catalog"

        let list = try BarmanCloud.run("backup-list", [source, "pg1"], moto: moto)
        #expect(list.status == 0, "\(list.stdout)\(list.stderr)")
        #expect(list.stdout.contains(id), "\(list.stdout)")
        let show = try BarmanCloud.run("backup-show", ["--format", "json", source, "pg1", id], moto: moto)
        #expect(show.status == 0, "\(show.stdout)\(show.stderr)")
        #expect(try fieldsShownDifferently(scenario, id: id, shown: show.stdout) == "[]", "every backup.info field as barman shows it")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        let backup = try #require(shown["pg1"] as? [String: Any], "\(show.stdout)")
        #expect(backup["status"] as? String == "DONE")
        #expect(backup["systemid"] as? String == (try scenario.cluster.controlData()["Database system identifier"]))
        let snapshots = try #require(backup["snapshots_info"] as? [String: Any])
        #expect(snapshots["provider"] as? String == "aws")
        let first = try #require((snapshots["snapshots"] as? [[String: Any]])?.first)
        let provider = try #require(first["provider"] as? [String: Any], "\(first)")
        let mount = try #require(first["mount"] as? [String: Any], "\(first)")
        #expect(provider["device_name"] as? String == "/dev/\(scenario.device)")
        #expect(provider["snapshot_name"] as? String == "pgdata-\(scenario.suffix)-\(id.lowercased())")
        #expect((provider["snapshot_id"] as? String)?.hasPrefix("snap-") == true)
        #expect(mount["mount_point"] as? String == scenario.disk.mountPoint)
        #expect(mount["mount_options"] as? String == "rw,noatime")
    }

    /// The backup.info fields whose value barman-cloud-backup-show reports differently (a JSON list;
    /// `[]` when every field matches): values compared as Python literals, times via `*_iso`.
    func fieldsShownDifferently(_ scenario: AWSScenario, id: String, shown: String) throws -> String {
        let showFile = scenario.fleet.directory.file("show-\(id).json")
        try shown.write(toFile: showFile, atomically: true, encoding: .utf8)
        let output = try scenario.moto.boto3(
            """
            import ast
            info = s3.get_object(Bucket="\(scenario.bucket)", Key="catalog/pg1/base/\(id)/backup.info")["Body"].read().decode()
            shown = json.load(open("\(showFile)"))["pg1"]
            def literal(text):
                try: return ast.literal_eval(text)
                except (ValueError, SyntaxError): return text  # barman writes some strings bare (wal names, paths)
            def normal(value):
                value = json.loads(json.dumps(value))
                return value if isinstance(value, (dict, list)) or value is None else str(value)
            different = []
            for line in info.splitlines():
                key, _, raw = line.partition("=")
                if key in ("begin_time", "end_time"):
                    expected, actual = raw.replace(" ", "T", 1), shown.get(key + "_iso")
                elif key == "backup_label":
                    expected, actual = literal(raw), literal(shown.get(key) or "None")
                else:
                    expected, actual = literal(raw), shown.get(key, "<not shown>")
                if normal(expected) != normal(actual):
                    different.append({"field": key, "written": raw, "shown": actual})
            print(json.dumps(different))
            """)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Stored: Decodable {
        struct Tag: Decodable {
            let Key: String
            let Value: String
        }

        let info: String
        let label: String
        let tags: [[Tag]]
    }
}

/// An instance with a volume in moto, the volume's device name on this host pointing at a real
/// loop disk with PostgreSQL on it, a bucket, and a controller and agent configured for them.
final class AWSScenario {
    let moto: MotoServer
    let disk: LoopDisk
    let cluster: PostgresCluster
    let fleet: Fleet
    let device: String
    let suffix: String
    let bucket: String
    /// The running agent.
    private(set) var agent: ProgramProcess!

    /// `volumeTags` switch on moto-extension behaviour (`MotoServer.VolumeTag`); `awsSettings` and
    /// `controllerSettings` add lines under the server's `aws:` and at the top of controller.yaml.
    /// `endpoint` is where the controller sends its EC2 and S3 calls (an `EC2FaultProxy`'s), moto's by default.
    init(
        moto: MotoServer, volumeTags: [String: String] = [:], awsSettings: String = "", controllerSettings: String = "", endpoint: String? = nil
    ) throws {
        self.moto = moto
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let bucket = "snapfleet-\(suffix)"
        self.suffix = suffix
        self.bucket = bucket
        disk = try LoopDisk(size: "128M", options: ["noatime"])
        cluster = try PostgresCluster(dataDirectory: disk.mountPoint + "/data")
        guard let name = DeviceNames.unusedSCSIName() else { throw FleetError("no free /dev/sdX name") }
        device = name
        // The host sees the EBS volume under its attachment name, as a real instance would (our own symlink).
        try FileManager.default.createSymbolicLink(atPath: "/dev/\(device)", withDestinationPath: disk.devicePath)
        try moto.boto3(
            """
            s3.create_bucket(Bucket="\(bucket)")
            run = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1a"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "pg-\(suffix)"}]}])
            instance = run["Instances"][0]["InstanceId"]
            volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1,
                TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "pgdata-\(suffix)"}] + \(Self.tagList(volumeTags))}])["VolumeId"]
            ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/\(device)")
            """)
        fleet = try Fleet()
        let settings = """
            destination: s3://\(bucket)/catalog
            provider: aws
            snapshot_instance: pg-\(suffix)
            snapshot_disks: [pgdata-\(suffix)]
            tags: {team: payments}
            aws:
              region: \(moto.region)
              endpoint_url: \(endpoint ?? moto.endpoint)
            """ + awsSettings.split(separator: "\n").map { "\n  \($0)" }.joined()
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")], settings: ["pg1": settings], topLevel: controllerSettings)
        try startController()
        agent = try fleet.startAgent(config: try fleet.writeAgentConfig("agent1", keyName: "pg1", conninfo: cluster.conninfo), name: "agent1")
        try fleet.waitForAgent()
    }

    /// Starts (or restarts) the controller; credentials reach it only, through the standard chain (its environment).
    func startController() throws {
        try fleet.startController(environment: ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey])
    }

    /// `[{"Key": k, "Value": v}, …]` as Python source.
    static func tagList(_ tags: [String: String]) -> String {
        "[" + tags.sorted { $0.key < $1.key }.map { "{\"Key\": \"\($0.key)\", \"Value\": \"\($0.value)\"}" }.joined(separator: ", ") + "]"
    }

    /// Runs `check` (must pass) and `backup`; returns the DONE backup's id.
    func backup() throws -> String {
        let check = try Shell.run([BuiltProducts.path("snapfleet-controller"), "check", "--config", fleet.controllerConfig, "pg1"])
        guard check.status == 0 else { throw FleetError("check failed:\n\(check.stdout)\(check.stderr)") }
        let output = try Shell.run(
            [BuiltProducts.path("snapfleet-controller"), "backup", "--config", fleet.controllerConfig, "pg1", "--immediate-checkpoint"])
        guard output.status == 0 else {
            throw FleetError("backup failed:\n\(output.stdout)\(output.stderr)\n\(fleet.controller?.log.suffix(3000) ?? "")")
        }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        fleet.stop()
        try? cluster.stop()
        unlink("/dev/\(device)")
        try? disk.detach()
    }
}
