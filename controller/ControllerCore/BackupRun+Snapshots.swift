import CloudSnapshots
import Foundation
import SnapfleetCore
import SnapfleetProtocol

extension BackupRun {
    // MARK: - Creating snapshots

    mutating func snapshotCreated(diskID: String, _ result: Result<SnapshotInfo, SnapfleetError>, at now: Date) -> [BackupAction] {
        let wasPending = pendingCreates.remove(diskID) != nil
        switch result {
        case .failure(let error):
            guard wasPending else { return [] }
            guard isHealthy else { return concludeCleanupIfDone() }
            return fail(.snapshot, "disk \(diskName(diskID)): \(error.description)", at: now)
        case .success(let info):
            return adopt(info, diskID: diskID, wasPending: wasPending, at: now)
        }
    }

    /// Takes ownership of a snapshot that exists: keeps it while the run is healthy, otherwise deletes it
    /// (barman leaves such snapshots orphaned, spec §4.8; snapfleet never does).
    private mutating func adopt(_ info: SnapshotInfo, diskID: String, wasPending: Bool, at now: Date) -> [BackupAction] {
        if isKnown(info.id) { return wasPending ? concludeCleanupIfDone() : [] }
        let entry = TakenSnapshot(disk: disk(diskID, fallback: info), snapshot: info)
        guard wasPending else {
            strays.append(entry)
            return delete([entry])
        }
        taken.append(entry)
        guard isHealthy else { return delete([entry]) }
        if info.state == .error {
            return fail(.snapshot, "snapshot \(info.id) of disk \(entry.disk.configuredName) failed: \(info.failure ?? "error state")", at: now)
        }
        // Every `CreateSnapshot` returned: the contents are fixed, so the agent stops before they complete.
        return pendingCreates.isEmpty && phase == .snapshotting ? requestStop(at: now) : []
    }

    private func isKnown(_ snapshotID: String) -> Bool {
        (taken + strays).contains { $0.snapshot.id == snapshotID }
    }

    /// The disk with this provider id; a snapshot of a disk not in the plan still gets recorded.
    private func disk(_ diskID: String, fallback info: SnapshotInfo) -> DiskInfo {
        plan.disks.first { $0.id == diskID } ?? DiskInfo(configuredName: diskID, id: diskID, deviceName: "")
    }

    func diskName(_ diskID: String) -> String {
        plan.disks.first { $0.id == diskID }?.configuredName ?? diskID
    }

    // MARK: - Waiting for completion

    /// Describes every snapshot not yet completed and not already being described; finishes when none is left.
    mutating func pollSnapshots(at now: Date) -> [BackupAction] {
        let incomplete = taken.filter { $0.snapshot.state != .completed }
        guard !incomplete.isEmpty else { return lockOrFinish(at: now) }
        lastPollAt = now
        let asked = incomplete.filter { !describing.contains($0.snapshot.id) }
        describing.formUnion(asked.map(\.snapshot.id))
        return asked.map { .describeSnapshot($0.snapshot) }
    }

    mutating func snapshotDescribed(id: String, _ result: Result<SnapshotInfo, SnapfleetError>, at now: Date) -> [BackupAction] {
        guard phase == .awaitingSnapshots, describing.remove(id) != nil,
            let index = taken.firstIndex(where: { $0.snapshot.id == id })
        else { return [] }
        switch result {
        case .failure(let error):
            // A failed describe is retried at the next poll; the timeout bounds the retries.
            lastDescribeError = error.description
            return []
        case .success(let info):
            taken[index].snapshot = info
            if info.state == .error {
                let disk = taken[index].disk.configuredName
                return fail(.snapshotCompletion, "snapshot \(id) of disk \(disk) failed: \(info.failure ?? "error state")", at: now)
            }
            return taken.allSatisfy { $0.snapshot.state == .completed } ? lockOrFinish(at: now) : []
        }
    }

    // MARK: - Locking

    /// Locks every snapshot once all have completed (a lock on a snapshot that then fails would
    /// keep it forever), or goes straight to DONE without a lock policy.
    private mutating func lockOrFinish(at now: Date) -> [BackupAction] {
        snapshotsCompletedAt = now
        guard let policy = plan.lock, !taken.isEmpty else { return finishing(at: now) }
        phase = .locking
        pendingLocks = Set(taken.map(\.snapshot.id))
        return taken.map { .lockSnapshot($0.snapshot, policy) }
    }

    mutating func snapshotLocked(id: String, _ result: Result<SnapshotInfo, SnapfleetError>, at now: Date) -> [BackupAction] {
        guard phase == .locking, pendingLocks.remove(id) != nil, let index = taken.firstIndex(where: { $0.snapshot.id == id }) else {
            return []
        }
        switch result {
        case .failure(let error):
            return fail(.lock, "snapshot \(id) of disk \(taken[index].disk.configuredName): \(error.description)", at: now)
        case .success(let locked):
            taken[index].snapshot.lockMode = locked.lockMode
            return pendingLocks.isEmpty ? finishing(at: now) : []
        }
    }

    // MARK: - The clock and the lease

    mutating func tick(at now: Date) -> [BackupAction] {
        guard isHealthy else { return [] }
        return renewLeaseIfHalfUsed(at: now) + checkSnapshots(at: now)
    }

    /// Renews while the agent's lease counts, once more than half of it has passed: from `backup_start`
    /// (a spread checkpoint can keep `pg_backup_start` busy for minutes, and the agent counts the lease
    /// from the request) until `backup_stop` is sent (the agent stops counting then). A controller that
    /// vanishes stops renewing, so the agent still ends the session, even in the middle of the start.
    private mutating func renewLeaseIfHalfUsed(at now: Date) -> [BackupAction] {
        guard session == .requested || session == .running, let renewed = leaseRenewedAt,
            now.timeIntervalSince(renewed) > Double(plan.leaseSeconds) / 2
        else { return [] }
        leaseRenewedAt = now
        return [.renewLease(BackupRenew(backupID: plan.backupID, leaseSeconds: plan.leaseSeconds))]
    }

    /// Times the wait out, or polls again once the interval has passed and no describe is outstanding.
    private mutating func checkSnapshots(at now: Date) -> [BackupAction] {
        guard phase == .awaitingSnapshots, let deadline = snapshotDeadline else { return [] }
        if now >= deadline { return fail(.snapshotCompletion, timeoutCause, at: now) }
        guard describing.isEmpty, now.timeIntervalSince(lastPollAt ?? .distantPast) >= pollInterval(at: now, deadline: deadline) else {
            return []
        }
        return pollSnapshots(at: now)
    }

    /// When the slowest snapshot's progress predicts its completion (progress grows about linearly),
    /// else a tenth of the time waited so far; always between one second and the plan's interval.
    /// A completion is noticed about a second late, and long waits cost few `DescribeSnapshots`.
    private func pollInterval(at now: Date, deadline: Date) -> TimeInterval {
        let began = deadline - plan.snapshotTimeout
        // The progress was measured at the last poll: predict from the time waited until then.
        let waitedAtPoll = (lastPollAt ?? now).timeIntervalSince(began)
        let predicted = taken.compactMap { taken -> TimeInterval? in
            guard taken.snapshot.state == .pending, let percent = taken.snapshot.progressPercent, (1...99).contains(percent) else { return nil }
            return waitedAtPoll * Double(100 - percent) / Double(percent)
        }.max()
        return min(plan.pollInterval, max(1, predicted ?? now.timeIntervalSince(began) / 10))
    }

    private var timeoutCause: String {
        let waiting = taken.filter { $0.snapshot.state != .completed }.map { taken in
            "\(taken.snapshot.id) (\(taken.snapshot.progressPercent.map { "\($0)%" } ?? taken.snapshot.state.rawValue))"
        }
        let last = lastDescribeError.map { "; last describe error: \($0)" } ?? ""
        return "snapshots not completed after \(Int(plan.snapshotTimeout)) s: \(waiting.joined(separator: ", "))\(last)"
    }

    mutating func leaseExpired(at now: Date) -> [BackupAction] {
        // Also while backup_start is still out: the agent cancels the start when the lease runs out.
        guard session == .requested || session == .running || session == .stopRequested else { return [] }
        session = .ended
        guard isHealthy else { return [] }
        return fail(.lease, "the agent ended the backup because its lease of \(plan.leaseSeconds) s ran out", at: now)
    }
}
