import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// Every way an AWS backup can fail, with the real programs on moto (and its extension for what
/// moto lacks): each ends with a FAILED `backup.info` naming the step and cause, no snapshot
/// left behind, and no PostgreSQL session in backup mode.
@Suite(
    "AWS snapshot backups that fail leave nothing behind", .serialized,
    .requires(
        BuiltProducts.exists("snapfleet-controller") && LoopDisk.isAvailable && MotoServer.isAvailable,
        "needs the built programs, loop devices and moto"))
struct AWSBackupFailureTests {
    typealias Tag = MotoServer.VolumeTag

    @Test("a snapshot that ends in error: FAILED at snapshot completion, the snapshot deleted")
    func snapshotError() throws {
        let scenario = try AWSScenario(moto: try MotoServer.shared(), volumeTags: [Tag.outcome: "error", Tag.pendingSeconds: "1"])
        let (id, stderr) = try scenario.failedBackup()
        #expect(stderr.contains("FAILED: snapshot completion:"), "\(stderr)")
        try expectCleanFailure(scenario, id: id, error: "error=failure snapshot completion (snapshot snap-")
    }

    @Test("snapshots still pending at await_snapshots_timeout: FAILED with the progress reached, the snapshot deleted")
    func completionTimeout() throws {
        let scenario = try AWSScenario(
            moto: try MotoServer.shared(), volumeTags: [Tag.pendingSeconds: "60"], awsSettings: "await_snapshots_timeout: 2")
        let (id, _) = try scenario.failedBackup()
        try expectCleanFailure(scenario, id: id, error: "error=failure snapshot completion (snapshots not completed after 2 s: snap-")
    }

    @Test("PostgreSQL ends the backup session during the backup window: FAILED at stop, the snapshot deleted")
    func postgresError() throws {
        let scenario = try AWSScenario(moto: try MotoServer.shared(), volumeTags: [Tag.createDelaySeconds: "4"])
        let backup = try scenario.startBackup()
        try scenario.waitForBackupSession()
        _ = try scenario.cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'")
        let (id, stderr) = try scenario.finish(backup, expecting: 1)
        #expect(stderr.contains("FAILED: stop:"), "\(stderr)")
        try expectCleanFailure(scenario, id: id, error: "error=failure stop (")
    }

    @Test("the agent killed during the backup window: FAILED, the snapshot deleted, PostgreSQL out of backup mode")
    func agentKilled() throws {
        let scenario = try AWSScenario(moto: try MotoServer.shared(), volumeTags: [Tag.createDelaySeconds: "4"])
        let backup = try scenario.startBackup()
        try scenario.waitForBackupSession()
        kill(scenario.agent.pid, SIGKILL)
        let (id, _) = try scenario.finish(backup, expecting: 1)
        try expectCleanFailure(scenario, id: id, error: "error=failure stop (")
    }

    @Test("the agent cut off (stopped) during the backup window: FAILED, and its lease ends the session once it runs again")
    func connectionLost() throws {
        let scenario = try AWSScenario(
            moto: try MotoServer.shared(), volumeTags: [Tag.createDelaySeconds: "4"], controllerSettings: "backup_lease_seconds: 5")
        let backup = try scenario.startBackup()
        try scenario.waitForBackupSession()
        kill(scenario.agent.pid, SIGSTOP)
        let finished = Result { try scenario.finish(backup, expecting: 1) }
        kill(scenario.agent.pid, SIGCONT)
        let (id, _) = try finished.get()
        try expectCleanFailure(scenario, id: id, error: "error=failure stop (")
        #expect(try scenario.agentLog(contains: "backup lease expired: backup ended"), "the agent ended the backup itself when its lease ran out")
    }

    @Test(
        "the controller killed during the backup: the agent's lease ends the session; restarted, the controller deletes the snapshot and records FAILED"
    )
    func controllerKilledThenRestarted() throws {
        // A plain moto: the restarted controller lists the catalog, which moto's signature check wrongly refuses.
        let moto = try MotoServer(enforcingSignatures: false)
        // Through the proxy, whose log shows when CreateSnapshot reached it: the controller is killed
        // while moto is making the snapshot, not before the request was sent.
        let proxy = try EC2FaultProxy(upstream: moto)
        let scenario = try AWSScenario(
            moto: moto, volumeTags: [Tag.createDelaySeconds: "3"], controllerSettings: "backup_lease_seconds: 5", endpoint: proxy.endpoint)
        let backup = try scenario.startBackup()
        try scenario.waitForBackupSession()
        #expect(try eventually(timeout: .seconds(20)) { proxy.log.contains("received CreateSnapshot") }, "\(proxy.log)")
        let controller = try #require(scenario.fleet.controller)
        kill(controller.pid, SIGKILL)
        _ = backup.waitForExit(timeout: .seconds(10))
        #expect(try eventually(timeout: .seconds(20)) { try scenario.backupSessions() == 0 }, "the lease ended the backup session")
        let id = try scenario.onlyBackupID()
        #expect(try scenario.backupInfo(id).contains("status=STARTED\n"))
        #expect(try eventually(timeout: .seconds(15)) { try scenario.snapshotIDs(of: id).count == 1 }, "moto finished the CreateSnapshot")

        try scenario.startController()
        #expect(try eventually(timeout: .seconds(20)) { try scenario.backupInfo(id).contains("status=FAILED\n") })
        try expectCleanFailure(scenario, id: id, error: "error=failure controller (the controller stopped during the backup; 1 snapshot(s) deleted")
    }

    @Test("snapshot_lock: every snapshot is locked once complete, and backup.info records the lock mode")
    func lockedSnapshots() throws {
        let scenario = try AWSScenario(
            moto: try MotoServer.shared(), volumeTags: [Tag.pendingSeconds: "1"],
            awsSettings: "snapshot_lock: {mode: governance, duration_days: 1}")
        let id = try scenario.backup()
        #expect(try scenario.backupInfo(id).contains("'snapshot_lock_mode': 'governance'"))
        let snapshots = try scenario.snapshotIDs(of: id)
        #expect(snapshots.count == 1)
        let locked = try scenario.moto.boto3(
            """
            found = ec2.describe_locked_snapshots(SnapshotIds=\(snapshots))["Snapshots"]
            print(",".join(s["LockState"] for s in found))
            """)
        #expect(locked.trimmingCharacters(in: .whitespacesAndNewlines) == "governance")
        // Leave moto clean for the other tests sharing it.
        try scenario.moto.boto3("ec2.unlock_snapshot(SnapshotId=\"\(snapshots[0])\")")
    }

    @Test("a snapshot already in error in CreateSnapshot's answer: FAILED at step snapshot, the snapshot deleted, not dropped")
    func snapshotErrorAtCreate() throws {
        let scenario = try AWSScenario(moto: try MotoServer.shared(), volumeTags: [Tag.outcome: "error-at-create"])
        let (id, _) = try scenario.failedBackup()
        try expectCleanFailure(scenario, id: id, error: "error=failure snapshot (snapshot snap-")
    }

    @Test("a snapshot that goes to the Recycle Bin (recoverable) while awaited: FAILED at snapshot completion, deleted")
    func snapshotRecoverable() throws {
        let scenario = try AWSScenario(moto: try MotoServer.shared(), volumeTags: [Tag.outcome: "recoverable", Tag.pendingSeconds: "1"])
        let (id, _) = try scenario.failedBackup()
        try expectCleanFailure(scenario, id: id, error: "(state recoverable)")
    }

    @Test("a snapshot recovering from the Recycle Bin is waited for: DONE only once it completed")
    func snapshotRecovering() throws {
        let scenario = try AWSScenario(moto: try MotoServer.shared(), volumeTags: [Tag.outcome: "recovering", Tag.pendingSeconds: "4"])
        let started = ContinuousClock.now
        let id = try scenario.backup()
        #expect(ContinuousClock.now - started > .seconds(4), "DONE was not written while the snapshot was recovering")
        #expect(try scenario.backupInfo(id).contains("status=DONE\n"))
    }

    @Test("CreateSnapshot answered 503 after moto made the snapshot: DONE, and every snapshot moto holds is named in backup.info")
    func createSnapshotReplyLost() throws {
        let moto = try MotoServer.shared()
        let proxy = try EC2FaultProxy(upstream: moto)
        try proxy.setFaults([["action": "CreateSnapshot", "after_forward": "status", "status": 503, "count": 1]])
        let scenario = try AWSScenario(moto: moto, endpoint: proxy.endpoint)
        let id = try scenario.backup()
        let info = try scenario.backupInfo(id)
        #expect(info.contains("status=DONE\n"), "\(info)")
        let held = try scenario.snapshotIDs(of: id)
        #expect(held.count == 1, "the lost reply did not make a second snapshot: \(held)")
        for snapshot in held { #expect(info.contains("'snapshot_id': '\(snapshot)'"), "\(snapshot) is in backup.info: \(info)") }
        #expect(proxy.log.contains("CreateSnapshot/POST / -> fault after_forward"), "\(proxy.log)")
    }

    @Test("every lookup after a lost CreateSnapshot reply fails: FAILED, and the snapshot the run never saw is found and deleted at the end")
    func lostReplyReconciled() throws {
        let moto = try MotoServer.shared()
        let proxy = try EC2FaultProxy(upstream: moto)
        let scenario = try AWSScenario(moto: moto, endpoint: proxy.endpoint)
        // Pre-flight passes first; then CreateSnapshot acts but answers 503, and the lookups that
        // follow fail too (four DescribeSnapshots), so the run fails knowing of no snapshot.
        try proxy.setFaults([
            ["action": "CreateSnapshot", "after_forward": "status", "status": 503, "count": 1],
            ["action": "DescribeSnapshots", "status": 503, "count": 4],
        ])
        let (id, stderr) = try scenario.failedBackup()
        #expect(stderr.contains("FAILED: snapshot:"), "\(stderr)")
        try expectCleanFailure(scenario, id: id, error: "error=failure snapshot (disk pgdata-")
        #expect(proxy.log.contains("DeleteSnapshot/POST / -> forwarded 200"), "the reconciliation deleted it: \(proxy.log)")
    }

    /// FAILED with `error` in backup.info, no snapshot of the backup left, no backup session, and
    /// PostgreSQL able to run a new backup.
    func expectCleanFailure(_ scenario: AWSScenario, id: String, error: String) throws {
        let info = try scenario.backupInfo(id)
        #expect(info.contains("status=FAILED\n"), "\(info)")
        #expect(info.contains(error), "\(info)")
        #expect(try scenario.snapshotIDs(of: id).isEmpty, "no snapshot left behind")
        #expect(try eventually(timeout: .seconds(15)) { try scenario.backupSessions() == 0 }, "the backup session was ended")
        #expect(
            try scenario.cluster.psql("SELECT pg_backup_start('after', true); SELECT labelfile FROM pg_backup_stop(false);")
                .contains("LABEL: after"), "PostgreSQL is not left in backup mode")
    }
}

extension AWSScenario {
    /// Starts `snapfleet-controller backup` in the background.
    func startBackup() throws -> ProgramProcess {
        try ProgramProcess(
            BuiltProducts.path("snapfleet-controller"), ["backup", "--config", fleet.controllerConfig, "pg1", "--immediate-checkpoint"],
            logPath: fleet.directory.file("backup-\(UUID().uuidString.prefix(8)).log"))
    }

    /// Waits for the backup command's exit status; returns the backup id it printed and its output.
    func finish(_ backup: ProgramProcess, expecting status: Int32) throws -> (String, String) {
        let exit = backup.waitForExit(timeout: .seconds(60))
        guard exit == status else { throw FleetError("backup exited \(exit.map(String.init) ?? "not"):\n\(backup.log)\n\(controllerLog)") }
        let id = backup.log.split(separator: "\n").first { $0.count == 15 && $0.dropFirst(8).hasPrefix("T") }.map(String.init)
        guard let id else { throw FleetError("no backup id in:\n\(backup.log)") }
        return (id, backup.log)
    }

    /// Runs a backup that must fail (exit status 1).
    func failedBackup() throws -> (String, String) { try finish(try startBackup(), expecting: 1) }

    /// Waits until `pg_backup_start` has returned and the agent holds the backup open (the backup
    /// window, while the snapshot is being created).
    func waitForBackupSession() throws {
        let query = """
            SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'snapfleet-backup' AND state = 'idle' AND query ILIKE '%pg_backup_start%'
            """
        guard try eventually(timeout: .seconds(20), { try self.cluster.psql(query).trimmingCharacters(in: .whitespacesAndNewlines) == "1" }) else {
            throw FleetError("no backup session appeared:\n\(controllerLog)")
        }
    }

    /// Sessions of the agent's backup connection in PostgreSQL.
    func backupSessions() throws -> Int {
        Int(
            try cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snapfleet-backup'").trimmingCharacters(
                in: .whitespacesAndNewlines)) ?? -1
    }

    /// The backup's `backup.info` in the bucket.
    func backupInfo(_ id: String) throws -> String {
        try moto.boto3("print(s3.get_object(Bucket=\"\(bucket)\", Key=\"catalog/pg1/base/\(id)/backup.info\")[\"Body\"].read().decode(), end=\"\")")
    }

    /// The ids of the snapshots tagged with this backup id.
    func snapshotIDs(of id: String) throws -> [String] {
        let output = try moto.boto3(
            """
            found = ec2.describe_snapshots(Filters=[{"Name": "tag:snapfleet_backup_id", "Values": ["\(id)"]}])["Snapshots"]
            print(" ".join(s["SnapshotId"] for s in found))
            """)
        return output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// The one backup id in the catalog (listed with boto3).
    func onlyBackupID() throws -> String {
        let output = try moto.boto3(
            """
            found = s3.list_objects_v2(Bucket="\(bucket)", Prefix="catalog/pg1/base/", Delimiter="/").get("CommonPrefixes", [])
            print(" ".join(p["Prefix"].split("/")[-2] for p in found))
            """)
        let ids = output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard ids.count == 1 else { throw FleetError("expected one backup, found \(ids)") }
        return ids[0]
    }

    /// Whether the agent's log mentions `text`.
    func agentLog(contains text: String) throws -> Bool {
        try eventually(timeout: .seconds(15)) { self.agent.log.contains(text) }
    }

    /// The controller's log tail, for failure messages.
    var controllerLog: String { String(fleet.controller?.log.suffix(4000) ?? "") }
}
