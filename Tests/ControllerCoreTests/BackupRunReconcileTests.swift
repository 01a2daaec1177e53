import CloudSnapshots
import ControllerCore
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

/// A `CreateSnapshot` whose reply was lost may have made a snapshot the run never heard of: before
/// its last record, every run lists the snapshots tagged with its backup id and deletes the unknown ones.
@Suite("BackupRun: reconciling the provider's snapshots at the end of every run")
struct BackupRunReconcileTests {
    typealias F = Fixture

    /// A snapshot of pgdata the run never heard of (a retried create that had acted after all).
    static let unknown = SnapshotInfo(id: "snap-lost-reply", name: "pgdata-20251125t213000", diskID: "vol-1", state: .completed)

    /// A run whose snapshots have both completed: it asks for the listing.
    func completed() -> Transcript {
        var transcript = Transcript()
        transcript.awaiting()
        _ = transcript.on(.snapshotDescribed(snapshotID: "snap-pgwal", .success(F.snap(F.pgwal, .completed))), 7)
        let actions = transcript.on(.snapshotDescribed(snapshotID: "snap-pgdata", .success(F.snap(F.pgdata, .completed))), 7)
        #expect(actions == [.listBackupSnapshots])
        return transcript
    }

    @Test("DONE: a snapshot with the backup's tag that the run does not know is deleted before DONE is written")
    func unknownDeletedBeforeDone() throws {
        var transcript = completed()
        let listed = transcript.on(.backupSnapshotsListed(.success([F.snap(F.pgdata, .completed), Self.unknown, F.snap(F.pgwal, .completed)])), 8)
        #expect(listed == [.deleteSnapshot(Self.unknown)], "only the unknown one; DONE waits for its delete")
        let record = try #require(writtenRecord(transcript.on(.snapshotDeleted(snapshotID: "snap-lost-reply", .success(())), 9)))
        #expect(record.kind == .done)
        #expect(record.snapshots.map(\.snapshot.id) == ["snap-pgdata", "snap-pgwal"])
        #expect(record.error == nil)
    }

    @Test("DONE: an unknown snapshot that cannot be deleted is named in DONE's error, not in its snapshots")
    func undeletableNamedInDone() throws {
        var transcript = completed()
        _ = transcript.on(.backupSnapshotsListed(.success([Self.unknown])), 8)
        let record = try #require(writtenRecord(transcript.on(.snapshotDeleted(snapshotID: "snap-lost-reply", .failure(F.oops)), 9)))
        #expect(record.kind == .done)
        #expect(record.snapshots.map(\.snapshot.id) == ["snap-pgdata", "snap-pgwal"], "the restorable snapshots only")
        #expect(record.error == "snapshots tagged with this backup but not part of it, not deleted: snap-lost-reply")
        let result = try #require(finished(transcript.on(.recordWritten(.done, .success(())), 10)))
        #expect(result.status == .done)
        #expect(result.problems == ["snapshot snap-lost-reply could not be deleted: boom"])
    }

    @Test("FAILED: after cleanup, unknown snapshots are deleted too, and named in FAILED when they cannot be")
    func unknownAfterCleanup() throws {
        var transcript = Transcript()
        transcript.snapshotting()
        // The create's reply was lost: the run knows no snapshot of pgdata, yet one exists.
        _ = transcript.on(
            .snapshotCreated(
                diskID: "vol-1", .failure(SnapfleetError(.httpError, "ec2 CreateSnapshot failed with Unavailable (http 503)", retryable: true))), 3)
        _ = transcript.on(.agentAborted(.success(())), 4)
        let pgwal = F.snap(F.pgwal, .pending)
        _ = transcript.on(.snapshotCreated(diskID: "vol-2", .success(pgwal)), 5)
        #expect(transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 6) == [.listBackupSnapshots])
        #expect(transcript.run.phase == .cleaningUp)
        // The listing may still show what was just deleted: deleting it again is harmless.
        #expect(
            transcript.on(.backupSnapshotsListed(.success([Self.unknown, pgwal])), 7) == [.deleteSnapshot(Self.unknown), .deleteSnapshot(pgwal)])
        _ = transcript.on(.snapshotDeleted(snapshotID: "snap-pgwal", .success(())), 8)
        let record = try #require(writtenRecord(transcript.on(.snapshotDeleted(snapshotID: "snap-lost-reply", .failure(F.oops)), 8)))
        #expect(record.kind == .failed)
        #expect(record.snapshots.map(\.snapshot.id) == ["snap-lost-reply"])
        #expect(
            record.error
                == "failure snapshot (disk pgdata: ec2 CreateSnapshot failed with Unavailable (http 503)); snapshots not deleted: snap-lost-reply")
    }

    @Test("a listing that fails is reported as a problem and the record is still written")
    func listingFails() throws {
        var transcript = completed()
        let record = try #require(writtenRecord(transcript.on(.backupSnapshotsListed(.failure(F.oops)), 8)))
        #expect(record.kind == .done)
        let result = try #require(finished(transcript.on(.recordWritten(.done, .success(())), 9)))
        #expect(result.problems == ["the snapshots tagged with this backup could not be listed to find unrecorded ones: boom"])
    }

    @Test("every run is reconciled once: a second listing answer is ignored")
    func reconciledOnce() throws {
        var transcript = completed()
        _ = transcript.on(.backupSnapshotsListed(.success([])), 8)
        #expect(transcript.on(.backupSnapshotsListed(.success([Self.unknown])), 8) == [])
    }
}
