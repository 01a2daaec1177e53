import CloudSnapshots
import ControllerCore
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("BackupRun: snapshot locks are applied once every snapshot completed")
struct BackupRunLockTests {
    typealias F = Fixture

    static let policy = SnapshotLockPolicy(mode: "compliance", durationDays: 7, coolOffHours: 1)

    /// A transcript whose plan locks snapshots, up to both snapshots completed at t=7.
    func completed() -> (Transcript, [BackupAction]) {
        var plan = F.plan
        plan.lock = Self.policy
        var transcript = Transcript(run: BackupRun(plan: plan))
        transcript.awaiting()
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 7)
        let actions = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), 7)
        return (transcript, actions)
    }

    static func locked(_ disk: DiskInfo) -> SnapshotInfo {
        var snapshot = F.snap(disk, .completed)
        snapshot.lockMode = "compliance"
        return snapshot
    }

    @Test("both snapshots locked, then DONE records each lock mode")
    func locksThenDone() throws {
        var (transcript, actions) = completed()
        #expect(actions == [.lockSnapshot(F.snap(F.pgdata, .completed), Self.policy), .lockSnapshot(F.snap(F.pgwal, .completed), Self.policy)])
        #expect(transcript.run.phase == .locking)
        #expect(transcript.on(.snapshotLocked(snapshotID: "snap-pgdata", .success(Self.locked(F.pgdata))), 8) == [])
        let done = transcript.reconciled(transcript.on(.snapshotLocked(snapshotID: "snap-pgwal", .success(Self.locked(F.pgwal))), 8), 8)
        let record = try #require(writtenRecord(done))
        #expect(record.kind == .done)
        #expect(record.snapshots.map(\.snapshot.lockMode) == ["compliance", "compliance"])
        #expect(transcript.on(.snapshotLocked(snapshotID: "snap-pgwal", .success(Self.locked(F.pgwal))), 9) == [], "a duplicate is ignored")
    }

    @Test("a lock fails: every snapshot is deleted, the locked one refuses and is named in FAILED")
    func lockFails() throws {
        var (transcript, _) = completed()
        _ = transcript.on(.snapshotLocked(snapshotID: "snap-pgdata", .success(Self.locked(F.pgdata))), 8)
        let actions = transcript.on(.snapshotLocked(snapshotID: "snap-pgwal", .failure(SnapfleetError(.ioError, "RequestLimitExceeded"))), 8)
        #expect(actions == [.deleteSnapshot(Self.locked(F.pgdata)), .deleteSnapshot(F.snap(F.pgwal, .completed))])
        #expect(transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 9) == [])
        let refused = SnapfleetError(.invalidConfiguration, "Locked snapshot: snap-pgdata.")
        let failed = transcript.reconciled(transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .failure(refused)), 9), 9)
        let record = try #require(writtenRecord(failed))
        #expect(record.kind == .failed)
        #expect(record.error == "failure lock (snapshot snap-pgwal of disk pgwal: RequestLimitExceeded); snapshots not deleted: snap-pgdata")
        #expect(record.snapshots.map(\.snapshot.lockMode) == ["compliance"], "the kept snapshot is recorded with its lock")
    }

    @Test("without a lock policy, completed snapshots go straight to DONE")
    func noPolicyNoLock() throws {
        var transcript = Transcript()
        transcript.awaiting()
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 7)
        let actions = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), 7)
        #expect(writtenRecord(transcript.reconciled(actions, 7))?.kind == .done)
    }
}
