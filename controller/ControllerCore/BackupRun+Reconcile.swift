import CloudSnapshots
import Foundation
import SnapfleetCore

/// Where the end-of-run reconciliation stands.
enum Reconciliation: Equatable {
    /// Not asked yet.
    case notStarted
    /// The provider's snapshots tagged with the backup id are being listed.
    case listing
    /// Listed (or the listing failed and is reported); unknown snapshots are being or were deleted.
    case done
}

extension BackupRun {
    /// Before the last record (DONE or FAILED), lists every snapshot the provider holds with this
    /// backup's tag and deletes the ones the run does not know: a `CreateSnapshot` whose reply was
    /// lost may have acted anyway. Snapshots that cannot be deleted are named in the record.
    mutating func reconcileThenRecord() -> [BackupAction] {
        switch reconciliation {
        case .notStarted:
            reconciliation = .listing
            return [.listBackupSnapshots]
        case .listing:
            return []
        case .done:
            guard pendingDeletes.isEmpty, !recordPending else { return [] }
            recordPending = true
            return [.writeRecord(record(phase == .finishing ? .done : .failed))]
        }
    }

    mutating func backupSnapshotsListed(_ result: Result<[SnapshotInfo], SnapfleetError>) -> [BackupAction] {
        guard reconciliation == .listing, phase == .finishing || phase == .cleaningUp else { return [] }
        reconciliation = .done
        switch result {
        case .failure(let error):
            problems.append("the snapshots tagged with this backup could not be listed to find unrecorded ones: \(error.description)")
            return reconcileThenRecord()
        case .success(let found):
            // In cleanup, `taken` holds only what could not be deleted: the rest is deleted (again, harmlessly).
            let known = Set((taken + strays).map(\.snapshot.id))
            let unknown = found.filter { !known.contains($0.id) }.map { TakenSnapshot(disk: disk(ofStray: $0), snapshot: $0) }
            strays += unknown
            return delete(unknown) + reconcileThenRecord()
        }
    }

    /// The planned disk a stray snapshot was taken of (or one named after its disk id).
    private func disk(ofStray snapshot: SnapshotInfo) -> DiskInfo {
        plan.disks.first { $0.id == snapshot.diskID } ?? DiskInfo(configuredName: snapshot.diskID, id: snapshot.diskID, deviceName: "")
    }
}
