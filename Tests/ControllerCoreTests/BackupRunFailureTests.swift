import CloudSnapshots
import ControllerCore
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("BackupRun: every failure ends the agent's session, deletes snapshots and writes FAILED")
struct BackupRunFailureTests {
    typealias F = Fixture

    /// Writes the FAILED record and checks the run is over with it.
    func concludeFailed(_ transcript: inout Transcript, _ actions: [BackupAction], at second: Double) throws -> (BackupRecord, BackupRunResult) {
        let record = try #require(writtenRecord(transcript.reconciled(actions, second)))
        #expect(record.kind == .failed)
        #expect(transcript.run.phase == .cleaningUp)
        let result = try #require(finished(transcript.on(.recordWritten(.failed, .success(())), second)))
        #expect(transcript.run.phase == .failed)
        #expect(result.status == .failed)
        return (record, result)
    }

    @Test("STARTED cannot be written: the agent is never asked, FAILED names step record")
    func startedRecordFails() throws {
        var transcript = Transcript()
        _ = transcript.run.begin(at: F.t(0))
        let actions = transcript.on(.recordWritten(.started, .failure(F.oops)), 1)
        #expect(actions.count == 1, "only the FAILED record, no abort, no delete")
        let (record, _) = try concludeFailed(&transcript, actions, at: 2)
        #expect(record.error == "failure record (backup.info STARTED could not be written: boom)")
    }

    @Test("backup_start fails: nothing to end or delete, FAILED names step start and the cause")
    func startFails() throws {
        var transcript = Transcript()
        transcript.started()
        let actions = transcript.on(.startReturned(.failure(SnapfleetError(.postgresError, "pg_backup_start: permission denied"))), 2)
        #expect(actions.count == 1)
        let (record, result) = try concludeFailed(&transcript, actions, at: 3)
        #expect(record.failure == BackupFailure(step: .start, cause: "pg_backup_start: permission denied"))
        #expect(record.error == "failure start (pg_backup_start: permission denied)")
        #expect(record.snapshots.isEmpty && record.start == nil)
        #expect(result.backupWindow == nil)
    }

    @Test("one snapshot fails: abort at once, wait for the other create, delete what was created, then FAILED")
    func oneSnapshotFails() throws {
        var transcript = Transcript()
        transcript.snapshotting()
        _ = transcript.on(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .pending))), 3)
        #expect(transcript.on(.snapshotCreated(diskID: "vol-2", .failure(F.oops)), 4) == [F.abort, .deleteSnapshot(F.snap(F.pgdata, .pending))])
        #expect(transcript.on(.agentAborted(.success(())), 5) == [])
        let actions = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 6)
        let (record, result) = try concludeFailed(&transcript, actions, at: 7)
        #expect(record.error == "failure snapshot (disk pgwal: boom)")
        #expect(record.snapshots.isEmpty && result.snapshots.isEmpty && result.problems.isEmpty)
    }

    @Test("a snapshot created after the run failed is deleted before FAILED is written")
    func lateSnapshotDeleted() throws {
        var transcript = Transcript()
        transcript.snapshotting()
        #expect(transcript.on(.snapshotCreated(diskID: "vol-1", .failure(F.oops)), 3) == [F.abort])
        _ = transcript.on(.agentAborted(.success(())), 4)
        #expect(transcript.on(.tick, 5) == [], "still waiting for the other create")
        #expect(
            transcript.on(.snapshotCreated(diskID: "vol-2", .success(F.snap(F.pgwal, .pending))), 6) == [.deleteSnapshot(F.snap(F.pgwal, .pending))])
        let actions = transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 7)
        let (record, _) = try concludeFailed(&transcript, actions, at: 8)
        #expect(record.snapshots.isEmpty)
    }

    @Test("a snapshot that turns up after FAILED was written is still deleted, and recorded if that fails")
    func snapshotAfterFinish() throws {
        var transcript = Transcript()
        transcript.started()
        _ = transcript.reconciled(transcript.on(.startReturned(.failure(F.oops)), 2), 2)
        _ = transcript.on(.recordWritten(.failed, .success(())), 3)
        let ghost = F.snap(F.pgdata, .pending)
        #expect(transcript.on(.snapshotCreated(diskID: "vol-1", .success(ghost)), 4) == [.deleteSnapshot(ghost)])
        let rewrite = try #require(writtenRecord(transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .failure(F.oops)), 5)))
        #expect(rewrite.kind == .failed && rewrite.snapshots.map(\.snapshot) == [ghost])
    }

    @Test("a snapshot created in error state fails the backup and is deleted")
    func snapshotCreatedInError() throws {
        var transcript = Transcript()
        transcript.snapshotting()
        let broken = F.snap(F.pgdata, .error, failure: "volume busy")
        #expect(transcript.on(.snapshotCreated(diskID: "vol-1", .success(broken)), 3) == [F.abort, .deleteSnapshot(broken)])
        #expect(transcript.run.phase == .cleaningUp)
    }

    @Test("backup_stop fails: abort, delete both snapshots, FAILED names step stop")
    func stopFails() throws {
        var transcript = Transcript()
        transcript.stopping()
        #expect(
            transcript.on(.stopReturned(.failure(F.oops)), 5) == [
                F.abort, .deleteSnapshot(F.snap(F.pgdata, .pending)), .deleteSnapshot(F.snap(F.pgwal, .pending)),
            ])
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 6)
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 6)
        let (record, result) = try concludeFailed(&transcript, transcript.on(.agentAborted(.success(())), 7), at: 8)
        #expect(record.failure?.step == .stop)
        #expect(result.backupWindow == 2)
    }

    @Test("label upload fails: the session already ended, so only deletes; FAILED keeps the stop result")
    func labelFails() throws {
        var transcript = Transcript()
        transcript.storing()
        #expect(
            transcript.on(.labelStored(.failure(F.oops)), 6) == [
                .deleteSnapshot(F.snap(F.pgdata, .pending)), .deleteSnapshot(F.snap(F.pgwal, .pending)),
            ])
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 7)
        let (record, _) = try concludeFailed(&transcript, transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 7), at: 8)
        #expect(record.error == "failure label (boom)")
        #expect(record.stop == F.stopped)
    }

    @Test("a snapshot reaching error state while awaited fails step snapshot completion")
    func snapshotErrorState() throws {
        var transcript = Transcript()
        transcript.awaiting()
        let broken = F.snap(F.pgdata, .error, failure: "internal error")
        let actions = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(broken)), 7)
        #expect(actions == [.deleteSnapshot(broken), .deleteSnapshot(F.snap(F.pgwal, .pending))])
        #expect(transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 7) == [], "late describe")
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 8)
        let (record, _) = try concludeFailed(&transcript, transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 8), at: 9)
        #expect(record.error == "failure snapshot completion (snapshot snap-pgdata of disk pgdata failed: internal error)")
    }

    @Test("snapshots not completed within the timeout fail step snapshot completion, naming the laggards")
    func snapshotTimeout() throws {
        var transcript = Transcript()
        transcript.awaiting()  // the deadline is t=6+600
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), 7)
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .failure(F.oops)), 7)
        #expect(transcript.on(.tick, 22) == [.describeSnapshot(F.snap(F.pgwal, .pending))], "a failed describe is retried")
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .pending, progress: 80))), 23)
        let actions = transcript.on(.tick, 606)
        #expect(actions == [.deleteSnapshot(F.snap(F.pgdata, .completed)), .deleteSnapshot(F.snap(F.pgwal, .pending, progress: 80))])
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 607)
        let (record, _) = try concludeFailed(&transcript, transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 607), at: 608)
        #expect(record.failure?.step == .snapshotCompletion)
        #expect(record.failure?.cause == "snapshots not completed after 600 s: snap-pgwal (80%); last describe error: boom")
    }

    @Test("the agent's lease expiring fails step lease; no abort is sent to an ended session")
    func leaseExpiry() throws {
        var transcript = Transcript()
        transcript.snapshotting()
        _ = transcript.on(.snapshotCreated(diskID: "vol-1", .success(F.snap(F.pgdata, .pending))), 3)
        // No abort (the agent ended the session itself); FAILED waits for vol-2's create.
        #expect(transcript.on(.leaseExpired, 62) == [.deleteSnapshot(F.snap(F.pgdata, .pending))])
        #expect(transcript.run.phase == .cleaningUp)
        let deletes = transcript.on(.snapshotCreated(diskID: "vol-2", .success(F.snap(F.pgwal, .pending))), 63)
        #expect(deletes == [.deleteSnapshot(F.snap(F.pgwal, .pending))])
        #expect(transcript.on(.stopReturned(.success(F.stopped)), 63) == [], "a stop result after the failure")
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 64)
        let actions = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 64)
        let (record, result) = try concludeFailed(&transcript, actions, at: 65)
        #expect(record.failure?.step == .lease && record.snapshots.isEmpty)
        #expect(result.backupWindow == nil, "stop was never requested")
    }

    @Test("lease expiry deletes the snapshots already created")
    func leaseExpiryDeletes() throws {
        var transcript = Transcript()
        transcript.stopping()
        let actions = transcript.on(.leaseExpired, 62)
        #expect(actions == [.deleteSnapshot(F.snap(F.pgdata, .pending)), .deleteSnapshot(F.snap(F.pgwal, .pending))])
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 63)
        let (record, _) = try concludeFailed(&transcript, transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 63), at: 64)
        #expect(record.error == "failure lease (the agent ended the backup because its lease of 60 s ran out)")
    }

    @Test("DONE cannot be written: the snapshots are deleted and FAILED names step record")
    func doneRecordFails() throws {
        var transcript = Transcript()
        transcript.awaiting()
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), 7)
        _ = transcript.reconciled(transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 7), 7)
        let actions = transcript.on(.recordWritten(.done, .failure(F.oops)), 8)
        #expect(actions == [.deleteSnapshot(F.snap(F.pgdata, .completed)), .deleteSnapshot(F.snap(F.pgwal, .completed))])
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .success(())), 9)
        let (record, _) = try concludeFailed(&transcript, transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 9), at: 10)
        #expect(record.error == "failure record (backup.info DONE could not be written: boom)")
    }

    @Test("a delete that fails during cleanup leaves the snapshot named in the FAILED record")
    func deleteFails() throws {
        var transcript = Transcript()
        transcript.stopping()
        _ = transcript.on(.stopReturned(.failure(F.oops)), 5)
        _ = transcript.on(.agentAborted(.failure(SnapfleetError(.agentNotConnected, "agent gone"))), 6)
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgdata", .failure(SnapfleetError(.ioError, "snapshot is locked"))), 7)
        let actions = transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 7)
        let (record, result) = try concludeFailed(&transcript, actions, at: 8)
        #expect(record.snapshots.map(\.snapshot.id) == ["snap-pgdata"])
        #expect(record.error == "failure stop (boom); snapshots not deleted: snap-pgdata")
        #expect(result.snapshots.map(\.snapshot.id) == ["snap-pgdata"])
        #expect(result.problems == ["backup_abort failed: agent gone", "snapshot snap-pgdata could not be deleted: snapshot is locked"])
    }

    @Test("FAILED cannot be written either: the run still ends failed, with the problem reported")
    func failedRecordFails() throws {
        var transcript = Transcript()
        transcript.started()
        _ = transcript.reconciled(transcript.on(.startReturned(.failure(F.oops)), 2), 2)
        let result = try #require(finished(transcript.on(.recordWritten(.failed, .failure(F.oops)), 3)))
        #expect(transcript.run.phase == .failed)
        #expect(result.problems == ["backup.info FAILED could not be written: boom"])
        #expect(transcript.on(.recordWritten(.failed, .success(())), 4) == [])
    }
}
