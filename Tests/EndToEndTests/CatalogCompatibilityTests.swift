import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// Catalog management against moto and real barman-cloud, both ways: barman-cloud's list, keep and
/// delete on backups snapfleet took, and snapfleet's on backups `barman-cloud-backup
/// --snapshot-instance` took; snapshots really disappear from moto's EC2 (locked ones stay).
@Suite(
    "Catalog management on moto, with barman-cloud both ways", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && MotoServer.isAvailable && BarmanCloud.isAvailable,
        "needs the built programs, loop devices, moto and barman-cloud (Python 3.12+, scripts/setup)"))
struct CatalogCompatibilityTests {
    @Test(
        "barman-cloud keeps and deletes snapfleet's backups: snapshots gone from EC2, nothing left under base/<id>/, the same as snapfleet would leave"
    )
    func barmanManagesSnapfleetBackups() throws {
        let moto = try MotoServer(enforcingSignatures: false)
        let scenario = try AWSScenario(moto: moto)
        let catalog = CatalogInBucket(scenario)
        let ids = try (0..<3).map { _ in try scenario.backup() }
        try catalog.addWAL(around: ids)
        let source = "s3://\(scenario.bucket)/catalog"

        let list = try BarmanCloud.run("backup-list", [source, "pg1"], moto: moto)
        #expect(ids.allSatisfy(list.stdout.contains), "\(list.stdout)\(list.stderr)")
        let keep = try BarmanCloud.run("backup-keep", ["--target", "standalone", source, "pg1", ids[1]], moto: moto)
        #expect(keep.status == 0, "\(keep.stderr)")
        #expect(try catalog.snapfleet(["keep", "pg1", ids[1], "--status"]).stdout == "Keep: standalone\n")

        // barman deletes the oldest by id: its snapshot and every object under base/<id>/ go.
        let snapshotsBefore = try catalog.snapshotIDs()
        let oldestSnapshot = try catalog.snapshotID(of: ids[0])
        let wouldGo = try catalog.dryRunKeys(["delete-backup", "pg1", ids[0], "--dry-run"])
        #expect(wouldGo.contains { $0.hasPrefix("wals/") }, "the WAL before the next backup goes too: \(wouldGo.sorted())")
        let cachedList = try catalog.snapfleet(["list-backups", "pg1"])
        #expect(ids.allSatisfy(cachedList.stdout.contains), "\(cachedList.stdout)")
        #expect(try catalog.cachedCopies() == 6, "each backup.info and record is kept in the catalog cache")
        let before = try catalog.keys()
        let delete = try BarmanCloud.run("backup-delete", ["-b", ids[0], source, "pg1"], moto: moto)
        #expect(delete.status == 0, "\(delete.stdout)\(delete.stderr)")
        let after = try catalog.keys()
        // What barman deleted is gone from the next listing, and from the cache; the copies of the rest still serve.
        let listAfter = try catalog.snapfleet(["list-backups", "pg1"])
        #expect(!listAfter.stdout.contains(ids[0]) && listAfter.stdout.contains(ids[1]), "\(listAfter.stdout)")
        #expect(try catalog.cachedCopies() == 5, "the deleted backup's backup.info copy is dropped; its record stays until snapfleet removes it")
        #expect(!after.contains { $0.hasPrefix("base/\(ids[0])/") }, "\(after.sorted())")
        #expect(before.subtracting(after) == wouldGo, "barman deleted exactly what snapfleet's dry run listed")
        #expect(try catalog.snapshotIDs() == snapshotsBefore.subtracting([oldestSnapshot]))
        // snapfleet's record of it is junk now: the next snapfleet deletion run removes it.
        #expect(after.contains("snapfleet/\(ids[0]).json"))
        let run = try catalog.snapfleet(["delete-backup", "pg1", "--retention-policy", "REDUNDANCY 3"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(!(try catalog.keys()).contains("snapfleet/\(ids[0]).json"), "\(run.stdout)")

        // barman's policy run, after snapfleet released the keep: the same keys go as snapfleet's dry run says.
        _ = try catalog.snapfleet(["keep", "pg1", ids[1], "--release"])
        let policyWouldGo = try catalog.dryRunKeys(["delete-backup", "pg1", "--retention-policy", "REDUNDANCY 1", "--dry-run"])
        let beforePolicy = try catalog.keys()
        let policy = try BarmanCloud.run("backup-delete", ["-r", "REDUNDANCY 1", source, "pg1"], moto: moto)
        #expect(policy.status == 0, "\(policy.stdout)\(policy.stderr)")
        let afterPolicy = try catalog.keys()
        #expect(
            beforePolicy.subtracting(afterPolicy) == policyWouldGo, "\(beforePolicy.subtracting(afterPolicy).sorted()) vs \(policyWouldGo.sorted())")
        #expect(policyWouldGo.contains("base/\(ids[1])/backup.info"))
        #expect(try catalog.snapshotIDs() == [try catalog.snapshotID(of: ids[2])])
    }

    @Test("snapfleet lists, shows, keeps and deletes a backup barman-cloud-backup --snapshot-instance took")
    func snapfleetManagesBarmanBackups() throws {
        let moto = try MotoServer(enforcingSignatures: false)
        let scenario = try AWSScenario(moto: moto)
        let catalog = CatalogInBucket(scenario)
        let barmanID = try catalog.barmanBackup()
        Thread.sleep(forTimeInterval: 1.1)
        let snapfleetID = try scenario.backup()

        let list = try catalog.snapfleet(["list-backups", "pg1"])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = list.stdout.split(separator: "\n")
        #expect(rows.count == 3, "\(list.stdout)")
        #expect(rows[1].hasPrefix(barmanID) && rows[2].hasPrefix(snapfleetID), "\(list.stdout)")
        #expect(rows[2].hasSuffix(" s"), "snapfleet's backup shows its window")
        let barmanList = try BarmanCloud.run("backup-list", ["s3://\(scenario.bucket)/catalog", "pg1"], moto: moto)
        #expect(
            list.stdout.split(separator: "\n").map { $0.prefix(112) } == barmanList.stdout.split(separator: "\n").map { $0.prefix(112) },
            "barman's columns, as barman prints them:\n\(list.stdout)\n\(barmanList.stdout)")

        let show = try catalog.snapfleet(["show-backup", "pg1", barmanID])
        #expect(show.stdout.contains("  Status                 : DONE"), "\(show.stdout)")
        #expect(show.stdout.contains("    snapshot_id          : snap-"), "\(show.stdout)")
        let barmanShow = try BarmanCloud.run("backup-show", ["s3://\(scenario.bucket)/catalog", "pg1", barmanID], moto: moto)
        #expect(show.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == barmanShow.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        #expect(try catalog.snapfleet(["keep", "pg1", barmanID, "--target", "full"]).status == 0)
        let refused = try catalog.snapfleet(["delete-backup", "pg1", barmanID])
        #expect(refused.status == 1 && refused.stderr.contains("has a current keep request"), "\(refused.stderr)")
        let barmanKeep = try BarmanCloud.run("backup-keep", ["--status", "s3://\(scenario.bucket)/catalog", "pg1", barmanID], moto: moto)
        #expect(barmanKeep.stdout.contains("Keep: full"), "\(barmanKeep.stdout)")
        _ = try catalog.snapfleet(["keep", "pg1", barmanID, "--release"])

        let snapshot = try catalog.snapshotID(of: barmanID)
        let deleted = try catalog.snapfleet(["delete-backup", "pg1", "oldest"])
        #expect(deleted.status == 0, "\(deleted.stdout)\(deleted.stderr)")
        #expect(!(try catalog.snapshotIDs()).contains(snapshot))
        #expect(!(try catalog.keys()).contains { $0.hasPrefix("base/\(barmanID)/") })
        let barmanAfter = try BarmanCloud.run("backup-list", ["s3://\(scenario.bucket)/catalog", "pg1"], moto: moto)
        #expect(!barmanAfter.stdout.contains(barmanID) && barmanAfter.stdout.contains(snapfleetID), "\(barmanAfter.stdout)")
    }

    @Test("a locked snapshot stops its backup's deletion before anything is touched; the backup stays DONE")
    func lockedSnapshot() throws {
        let moto = try MotoServer(enforcingSignatures: false)
        let scenario = try AWSScenario(moto: moto)
        let catalog = CatalogInBucket(scenario)
        let id = try scenario.backup()
        let snapshot = try catalog.snapshotID(of: id)
        try moto.boto3(#"ec2.lock_snapshot(SnapshotId="\#(snapshot)", LockMode="governance", LockDuration=1)"#)
        let before = try catalog.keys()
        let delete = try catalog.snapfleet(["delete-backup", "pg1", id])
        #expect(delete.status == 1, "\(delete.stdout)\(delete.stderr)")
        #expect(delete.stderr.contains("Locked snapshot: \(snapshot)"), "\(delete.stderr)")
        #expect(try catalog.keys() == before)
        #expect(try catalog.snapshotIDs().contains(snapshot))
        #expect(try catalog.object("base/\(id)/backup.info").contains("status=DONE\n"))
    }

    @Test("the deleting process killed between the snapshots: the next policy run finishes the deletion; what remains is intact")
    func killedDeletionIsFinished() throws {
        let moto = try MotoServer(enforcingSignatures: false)
        let proxy = try EC2FaultProxy(upstream: moto)
        let scenario = try AWSScenario(moto: moto, endpoint: proxy.endpoint)
        let catalog = CatalogInBucket(scenario)
        let ids = try (0..<3).map { _ in try scenario.backup() }
        try catalog.addWAL(around: ids)
        let kept = Set(try [ids[2]].map(catalog.snapshotID(of:)))
        // The first DeleteSnapshot goes through; the second hangs (and would never reach EC2).
        try proxy.setFaults([
            ["action": "DeleteSnapshot", "count": 1, "delay_seconds": 0],
            ["action": "DeleteSnapshot", "delay_seconds": 120, "status": 503],
        ])
        let log = scenario.fleet.directory.file("delete-killed.log")
        let pid = try ChildProcess.spawn(
            [
                "env", "AWS_ACCESS_KEY_ID=\(moto.accessKeyID)", "AWS_SECRET_ACCESS_KEY=\(moto.secretAccessKey)",
                BuiltProducts.path("snapfleet-controller"),
                "delete-backup", "--config", scenario.fleet.controllerConfig, "pg1", "--retention-policy", "REDUNDANCY 1",
            ],
            logPath: log)
        let marked = try eventually(timeout: .seconds(60)) {
            (try? catalog.object("base/\(ids[1])/backup.info"))?.contains("error=snapfleet is deleting this backup") == true
        }
        Thread.sleep(forTimeInterval: 1)
        kill(pid, SIGKILL)
        _ = ChildProcess.exitStatus(of: pid, wait: true)
        try #require(marked, "the second backup was never marked: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(try catalog.object("base/\(ids[0])/backup.info").contains("status=FAILED\n"), "never DONE with deleted snapshots")

        try proxy.setFaults([])
        let again = try catalog.snapfleet(["delete-backup", "pg1", "--retention-policy", "REDUNDANCY 1"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("finishing the interrupted deletion of"), "\(again.stdout)")
        let keys = try catalog.keys()
        #expect(!keys.contains { $0.hasPrefix("base/\(ids[0])/") || $0.hasPrefix("base/\(ids[1])/") }, "\(keys.sorted())")
        #expect(try catalog.snapshotIDs() == kept)
        #expect(try catalog.object("base/\(ids[2])/backup.info").contains("status=DONE\n"))
        let begin = try catalog.beginWAL(of: ids[2])
        #expect(keys.contains { $0.hasSuffix("/" + begin) }, "the remaining backup's first WAL stays")
    }
}

/// The scenario's bucket seen as a catalog: keys, snapshots, and snapfleet's and barman's commands on it.
struct CatalogInBucket {
    let scenario: AWSScenario

    init(_ scenario: AWSScenario) { self.scenario = scenario }

    /// `snapfleet-controller ARGS --config …` with the controller's AWS credentials (it reads the catalog itself).
    func snapfleet(_ arguments: [String]) throws -> ProcessOutput {
        var withConfig = arguments
        withConfig.insert(contentsOf: ["--config", scenario.fleet.controllerConfig], at: 1)
        return try Shell.run(
            [
                "env", "AWS_ACCESS_KEY_ID=\(scenario.moto.accessKeyID)", "AWS_SECRET_ACCESS_KEY=\(scenario.moto.secretAccessKey)",
                BuiltProducts.path("snapfleet-controller"),
            ]
                + withConfig)
    }

    /// How many copies the controller's catalog cache holds (the fleet's `cache_directory`).
    func cachedCopies() throws -> Int {
        let root = scenario.fleet.directory.file("cache")
        return try FileManager.default.contentsOfDirectory(atPath: root).reduce(0) { count, store in
            count + (try FileManager.default.contentsOfDirectory(atPath: root + "/" + store)).count
        }
    }

    /// The keys a snapfleet dry run says it would delete (relative to `catalog/pg1/`).
    func dryRunKeys(_ arguments: [String]) throws -> Set<String> {
        let output = try snapfleet(arguments)
        guard output.status == 0 else { throw FleetError("dry run failed: \(output.stdout)\(output.stderr)") }
        return Set(
            output.stdout.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("would delete catalog/pg1/") else { return nil }
                return String(line.dropFirst("would delete catalog/pg1/".count))
            })
    }

    /// Every key under `catalog/pg1/`, relative to it.
    func keys() throws -> Set<String> {
        let output = try scenario.moto.boto3(
            """
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="\(scenario.bucket)", Prefix="catalog/pg1/"):
                keys += [o["Key"][len("catalog/pg1/"):] for o in page.get("Contents", [])]
            print(json.dumps(keys))
            """)
        return Set(try JSONDecoder().decode([String].self, from: Data(output.utf8)))
    }

    /// An object's text.
    func object(_ key: String) throws -> String {
        try scenario.moto.boto3(#"sys.stdout.write(s3.get_object(Bucket="\#(scenario.bucket)", Key="catalog/pg1/\#(key)")["Body"].read().decode())"#)
    }

    /// Every snapshot id in moto.
    func snapshotIDs() throws -> Set<String> {
        let output = try scenario.moto.boto3(#"print(json.dumps([s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]]))"#)
        return Set(try JSONDecoder().decode([String].self, from: Data(output.utf8)))
    }

    /// The snapshot id a backup.info records.
    func snapshotID(of backup: String) throws -> String {
        let info = try object("base/\(backup)/backup.info")
        guard let range = info.range(of: #"snap-[0-9a-f]+"#, options: .regularExpression) else { throw FleetError("no snapshot in \(backup)") }
        return String(info[range])
    }

    /// A backup's `begin_wal`.
    func beginWAL(of backup: String) throws -> String {
        let info = try object("base/\(backup)/backup.info")
        guard let line = info.split(separator: "\n").first(where: { $0.hasPrefix("begin_wal=") }) else { throw FleetError("no begin_wal") }
        return String(line.dropFirst("begin_wal=".count))
    }

    /// WAL objects around each backup's `begin_wal` (two before, one after) and a history file, as an archive holds them.
    func addWAL(around backups: [String]) throws {
        let begins = try backups.map(beginWAL)
        try scenario.moto.boto3(
            """
            for begin in \(begins):
                tli, log, seg = begin[:8], begin[8:16], int(begin[16:], 16)
                for n in range(max(seg - 2, 0), seg + 2):
                    name = "%s%s%08X" % (tli, log, n)
                    s3.put_object(Bucket="\(scenario.bucket)", Key="catalog/pg1/wals/%s%s/%s" % (tli, log, name), Body=name.encode())
            s3.put_object(Bucket="\(scenario.bucket)", Key="catalog/pg1/wals/00000002.history", Body=b"1\\t0/3000000\\tno recovery target\\n")
            """)
    }

    /// Takes a backup with `barman-cloud-backup --snapshot-instance --snapshot-disk`; returns its id.
    func barmanBackup() throws -> String {
        let output = try BarmanCloud.snapshotBackup(
            of: scenario.cluster, instance: "pg-\(scenario.suffix)", disk: "pgdata-\(scenario.suffix)",
            destination: "s3://\(scenario.bucket)/catalog", server: "pg1", moto: scenario.moto)
        guard output.status == 0 else { throw FleetError("barman-cloud-backup failed: \(output.stdout)\(output.stderr)") }
        let ids = try keys().compactMap { key -> String? in
            key.hasPrefix("base/") && key.hasSuffix("/backup.info") ? String(key.dropFirst(5).prefix(15)) : nil
        }
        guard let id = ids.max() else { throw FleetError("barman-cloud-backup wrote no backup.info") }
        return id
    }
}
