import CloudSnapshots
import ControllerCore
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

/// Fixtures shared by the transcripts: a server with two disks, and the agent's and provider's answers.
enum Fixture {
    static let id = "20251125T213000"
    static let pgdata = DiskInfo(configuredName: "pgdata", id: "vol-1", deviceName: "/dev/sdf")
    static let pgwal = DiskInfo(configuredName: "pgwal", id: "vol-2", deviceName: "/dev/sdg")
    static let plan = BackupPlan(
        backupID: id, server: "pg1", disks: [pgdata, pgwal], tags: ["team": "db"], leaseSeconds: 60, snapshotTimeout: 600,
        pollInterval: 15, immediateCheckpoint: true)
    static let startPoint = BackupStartPoint(lsn: "0/2000028", walFile: "000000010000000000000002", timeline: 1, time: "2025-11-25T21:30:01Z")
    static let stopped = BackupStopped(
        backupID: id, start: startPoint, stopLSN: "0/2000100", stopWALFile: "000000010000000000000002",
        stopTime: "2025-11-25T21:30:05Z", backupLabel: "START WAL LOCATION: 0/2000028\n", tablespaceMap: "")
    static let oops = SnapfleetError(.ioError, "boom")

    static func t(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_764_106_200 + seconds) }

    static func snap(_ disk: DiskInfo, _ state: SnapshotState, progress: Int? = nil, failure: String? = nil) -> SnapshotInfo {
        SnapshotInfo(
            id: "snap-\(disk.configuredName)", name: "\(disk.configuredName)-20251125t213000", diskID: disk.id, state: state,
            progressPercent: progress, failure: failure)
    }

    static func request(_ disk: DiskInfo) -> SnapshotRequest {
        SnapshotRequest(name: "\(disk.configuredName)-20251125t213000", tags: ["team": "db", "snapfleet_backup_id": id])
    }

    static let start = BackupAction.startAgentBackup(
        BackupStart(backupID: id, label: "snapfleet backup pg1 \(id)", fastCheckpoint: true, leaseSeconds: 60))
    static let stop = BackupAction.stopAgentBackup(BackupStop(backupID: id, waitForArchive: true))
    static let abort = BackupAction.abortAgentBackup(BackupReference(backupID: id))
    static let renew = BackupAction.renewLease(BackupRenew(backupID: id, leaseSeconds: 60))
}

/// The record written by the only `writeRecord` among `actions`, if there is one.
func writtenRecord(_ actions: [BackupAction]) -> BackupRecord? {
    let records = actions.compactMap { action -> BackupRecord? in
        if case .writeRecord(let record) = action { return record }
        return nil
    }
    return records.count == 1 ? records[0] : nil
}

/// The result handed out by `finish`, if `actions` end the run.
func finished(_ actions: [BackupAction]) -> BackupRunResult? {
    actions.compactMap { action -> BackupRunResult? in
        if case .finish(let result) = action { return result }
        return nil
    }.first
}

/// A run driven through its transcript with the fixture's answers, one step per call.
struct Transcript {
    var run = BackupRun(plan: Fixture.plan)

    /// Feeds `event` at second `second`.
    mutating func on(_ event: BackupEvent, _ second: Double) -> [BackupAction] { run.handle(event, at: Fixture.t(second)) }

    /// Answers the end-of-run reconciliation in `actions`, if there is one, with `found` (by default
    /// nothing unknown) and returns what follows; other actions are returned as they are.
    mutating func reconciled(_ actions: [BackupAction], _ second: Double, found: [SnapshotInfo] = []) -> [BackupAction] {
        guard actions.contains(.listBackupSnapshots) else { return actions }
        return actions.filter { $0 != .listBackupSnapshots } + on(.backupSnapshotsListed(.success(found)), second)
    }

    /// Begins and writes STARTED: the agent is asked to start at t=1.
    mutating func started() {
        _ = run.begin(at: Fixture.t(0))
        _ = on(.recordWritten(.started, .success(())), 1)
    }

    /// Up to both snapshots requested at t=2.
    mutating func snapshotting() {
        started()
        _ = on(.startReturned(.success(Fixture.startPoint)), 2)
    }

    /// Up to `backup_stop` requested at t=4.
    mutating func stopping() {
        snapshotting()
        _ = on(.snapshotCreated(diskID: "vol-1", .success(Fixture.snap(Fixture.pgdata, .pending))), 3)
        _ = on(.snapshotCreated(diskID: "vol-2", .success(Fixture.snap(Fixture.pgwal, .pending))), 4)
    }

    /// Up to the label upload at t=5.
    mutating func storing() {
        stopping()
        _ = on(.stopReturned(.success(Fixture.stopped)), 5)
    }

    /// Up to the first poll at t=6.
    mutating func awaiting() {
        storing()
        _ = on(.labelStored(.success(())), 6)
    }
}

@Suite("BackupRun: the happy path, lease renewal, and duplicate events")
struct BackupRunTests {
    typealias F = Fixture

    @Test("two disks: STARTED, start, both snapshots at once, stop before completion, label, poll, DONE")
    func happyPath() throws {
        var run = BackupRun(plan: F.plan)
        let started = run.begin(at: F.t(0))
        #expect(writtenRecord(started)?.kind == .started)
        #expect(run.phase == .starting)
        #expect(run.handle(.recordWritten(.started, .success(())), at: F.t(1)) == [F.start])

        #expect(
            run.handle(.startReturned(.success(F.startPoint)), at: F.t(2)) == [
                .createSnapshot(F.pgdata, F.request(F.pgdata)), .createSnapshot(F.pgwal, F.request(F.pgwal)),
            ])
        #expect(run.phase == .snapshotting)
        #expect(run.handle(.snapshotCreated(diskID: "vol-2", .success(F.snap(F.pgwal, .pending))), at: F.t(3)) == [])
        // Both CreateSnapshot calls returned; neither snapshot is complete, and the agent stops now.
        #expect(run.handle(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .pending))), at: F.t(4.5)) == [F.stop])
        #expect(run.phase == .stopping)

        #expect(run.handle(.stopReturned(.success(F.stopped)), at: F.t(5)) == [.storeLabel(F.stopped.backupLabel)])
        #expect(
            run.handle(.labelStored(.success(())), at: F.t(6)) == [
                .describeSnapshot(F.snap(F.pgwal, .pending)), .describeSnapshot(F.snap(F.pgdata, .pending)),
            ])
        #expect(run.phase == .awaitingSnapshots)
        #expect(run.handle(.tick, at: F.t(6.2)) == [], "no poll while describes are outstanding")
        #expect(run.handle(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), at: F.t(6.5)) == [])
        #expect(run.handle(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .pending, progress: 40))), at: F.t(6.5)) == [])
        #expect(run.handle(.tick, at: F.t(6.9)) == [], "no poll within a second of the last")
        #expect(run.handle(.tick, at: F.t(22)) == [.describeSnapshot(F.snap(F.pgdata, .pending, progress: 40))])

        let completed = run.handle(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), at: F.t(30))
        #expect(completed == [.listBackupSnapshots], "before DONE, the provider is asked for every snapshot with the backup's tag")
        #expect(run.phase == .finishing)
        let listed = [F.snap(F.pgdata, .completed), F.snap(F.pgwal, .completed)]
        let done = run.handle(.backupSnapshotsListed(.success(listed)), at: F.t(30.5))
        let record = try #require(writtenRecord(done))
        #expect(record.kind == .done)
        #expect(record.snapshots.map(\.snapshot.id) == ["snap-pgdata", "snap-pgwal"], "in configured disk order")
        #expect(record.snapshots.allSatisfy { $0.snapshot.state == .completed })
        #expect(record.start == F.startPoint && record.stop == F.stopped && record.copyTime == 30)
        #expect(record.error == nil)
        #expect(run.phase == .finishing)

        let result = try #require(finished(run.handle(.recordWritten(.done, .success(())), at: F.t(31))))
        #expect(run.phase == .done)
        #expect(result.status == .done && result.failure == nil && result.problems.isEmpty)
        #expect(result.backupWindow == 2.5, "from start returned (t=2) to stop requested (t=4.5)")
        #expect(result.snapshots.count == 2)
        #expect(run.result == result)
    }

    @Test("without progress, pending snapshots are polled at a tenth of the time waited, at least every second and at most every poll interval")
    func pollIntervalGrowsWithTheWait() {
        var transcript = Transcript()
        transcript.awaiting()
        let pending = F.snap(F.pgdata, .pending)
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 6.5)
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(pending)), 6.5)
        #expect(transcript.on(.tick, 8) == [.describeSnapshot(pending)], "2 s waited: polled after 1 s")
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(pending)), 8.5)
        #expect(transcript.on(.tick, 106) == [.describeSnapshot(pending)])
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(pending)), 106.5)
        #expect(transcript.on(.tick, 115) == [], "109 s waited: 9 s since the last poll is less than 10.9 s")
        #expect(transcript.on(.tick, 118) == [.describeSnapshot(pending)])
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(pending)), 118.5)
        #expect(transcript.on(.tick, 400) == [.describeSnapshot(pending)])
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(pending)), 400.5)
        #expect(transcript.on(.tick, 414) == [], "capped at the plan's 15 s, not 39 s")
        #expect(transcript.on(.tick, 415) == [.describeSnapshot(pending)])
    }

    @Test("with progress, the next poll is when the progress predicts completion")
    func pollWhenProgressPredictsCompletion() {
        var transcript = Transcript()
        transcript.awaiting()  // label stored and first poll at t=6
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 6.5)
        let barely = F.snap(F.pgdata, .pending, progress: 1)
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(barely)), 6.5)
        #expect(transcript.on(.tick, 7) == [.describeSnapshot(barely)], "measured at 0 s waited: nothing to predict from, the 1 s floor")
        let fifth = F.snap(F.pgdata, .pending, progress: 20)
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(fifth)), 7.5)
        #expect(transcript.on(.tick, 10.9) == [], "20% after 1 s predicts 4 s more")
        #expect(transcript.on(.tick, 11) == [.describeSnapshot(fifth)])
        let almost = F.snap(F.pgdata, .pending, progress: 99)
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(almost)), 11.5)
        #expect(transcript.on(.tick, 12) == [.describeSnapshot(almost)], "99%: the one-second floor")
    }

    @Test("snapshots already completed when the label is stored go straight to DONE")
    func completedAtCreation() {
        var transcript = Transcript()
        transcript.snapshotting()
        _ = transcript.on(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .completed))), 3)
        #expect(transcript.on(.snapshotCreated(diskID: "vol-2", .success(F.snap(F.pgwal, .completed))), 3) == [F.stop])
        _ = transcript.on(.stopReturned(.success(F.stopped)), 4)
        #expect(writtenRecord(transcript.reconciled(transcript.on(.labelStored(.success(())), 5), 5))?.kind == .done)
    }

    @Test("a tick renews the lease once more than half of it is used, while the agent holds the backup")
    func leaseRenewal() {
        var transcript = Transcript()
        transcript.started()  // the lease is counted from t=1, when backup_start is sent
        _ = transcript.on(.startReturned(.success(F.startPoint)), 2)
        #expect(transcript.on(.tick, 30) == [], "exactly half is not more than half")
        #expect(transcript.on(.tick, 31.5) == [F.renew])
        #expect(transcript.on(.tick, 40) == [], "renewed at 31.5")
        #expect(transcript.on(.tick, 62) == [F.renew])
        _ = transcript.on(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .pending))), 63)
        _ = transcript.on(.snapshotCreated(diskID: "vol-2", .success(F.snap(F.pgwal, .pending))), 63)
        #expect(transcript.on(.tick, 93) == [], "backup_stop sent: the agent's lease no longer counts, nothing to renew")
        _ = transcript.on(.stopReturned(.success(F.stopped)), 94)
        #expect(transcript.on(.tick, 200) == [], "stopped: no lease left to renew")
    }

    @Test("the lease is renewed while backup_start runs: a spread checkpoint may outlast several leases")
    func renewalWhileStarting() {
        var transcript = Transcript()
        transcript.started()  // backup_start sent at t=1: the agent counts the lease from then
        #expect(transcript.on(.tick, 31) == [], "half of the lease is not more than half")
        #expect(transcript.on(.tick, 32) == [F.renew])
        #expect(transcript.on(.tick, 63) == [F.renew], "still in pg_backup_start: renewed again")
        #expect(transcript.run.phase == .starting)
        #expect(transcript.run.progress(at: F.t(100))?.phase == "checkpoint")
        #expect(transcript.run.progress(at: F.t(100))?.seconds == 99, "the checkpoint has been awaited since t=1")
        _ = transcript.on(.startReturned(.success(F.startPoint)), 120)
        #expect(transcript.run.progress(at: F.t(121))?.phase == "snapshotting")
    }

    @Test("an agent that never answers backup_start is renewed no longer than the controller runs: its lease ends the session")
    func leaseOutlivesAVanishedController() {
        // A controller that vanished sends nothing: the agent's lease, counted from backup_start,
        // ends the session. What the run may send is bounded by its ticks; after a lease expiry it sends nothing.
        var transcript = Transcript()
        transcript.started()
        _ = transcript.on(.tick, 32)
        #expect(finished(transcript.reconciled(transcript.on(.leaseExpired, 200), 200)) == nil, "FAILED is written first")
        #expect(transcript.run.phase == .cleaningUp)
        #expect(transcript.on(.tick, 300) == [], "no renewal after the agent ended the backup")
    }

    @Test("duplicate and late events repeat no side effect")
    func duplicatesIgnored() {
        var transcript = Transcript()
        #expect(transcript.run.begin(at: F.t(0)).count == 1)
        #expect(transcript.run.begin(at: F.t(0)) == [], "begin twice")
        _ = transcript.on(.recordWritten(.started, .success(())), 1)
        #expect(transcript.on(.recordWritten(.started, .success(())), 1) == [], "STARTED written twice")
        _ = transcript.on(.startReturned(.success(F.startPoint)), 2)
        #expect(transcript.on(.startReturned(.success(F.startPoint)), 2) == [], "start returned twice")
        _ = transcript.on(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .pending))), 3)
        #expect(transcript.on(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .pending))), 3) == [], "same snapshot twice")
        #expect(transcript.on(.snapshotCreated(diskID: "vol-1", .failure(F.oops)), 3) == [], "an error after the success")
        #expect(transcript.on(.snapshotCreated(diskID: "vol-9", .failure(F.oops)), 3) == [], "a disk never asked for")
        #expect(transcript.on(.stopReturned(.success(F.stopped)), 3) == [], "stop result before stop was asked")
        _ = transcript.on(.snapshotCreated(diskID: "vol-2", .success(F.snap(F.pgwal, .pending))), 4)
        _ = transcript.on(.stopReturned(.success(F.stopped)), 5)
        #expect(transcript.on(.stopReturned(.success(F.stopped)), 5) == [], "stop returned twice")
        _ = transcript.on(.labelStored(.success(())), 6)
        #expect(transcript.on(.labelStored(.success(())), 6) == [], "label stored twice")
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), 7)
        #expect(transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .error))), 7) == [])
        #expect(transcript.on(.leaseExpired, 7) == [], "the agent's session already ended with the stop")
        #expect(transcript.on(.agentAborted(.success(())), 7) == [], "no abort was asked")
        #expect(transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 7) == [], "no delete was asked")
        let completed = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 8)
        #expect(writtenRecord(transcript.reconciled(completed, 8)) != nil)
        #expect(transcript.on(.backupSnapshotsListed(.success([])), 8) == [], "a listing answered twice")
        #expect(finished(transcript.on(.recordWritten(.done, .success(())), 9)) != nil)
        #expect(transcript.on(.recordWritten(.done, .success(())), 9) == [], "DONE written twice")
        #expect(transcript.on(.tick, 100) == [])
        #expect(transcript.run.phase == .done)
    }

    @Test("a second, different snapshot of a disk is deleted, never left behind")
    func strayDeleted() {
        var transcript = Transcript()
        transcript.stopping()
        var stray = F.snap(F.pgdata, .pending)
        stray.id = "snap-extra"
        #expect(transcript.on(.snapshotCreated(diskID: "vol-1", .success(stray)), 4.5) == [.deleteSnapshot(stray)])
        #expect(transcript.run.phase == .stopping)
    }
}
