import Foundation
import PostgresBackup
import SnapfleetCore
import SnapfleetProtocol

/// Answers the controller's backup-session requests with the agent's one backup session.
public struct BackupRequests: Sendable {
    private let driver: BackupSessionDriver

    /// Serves requests with `driver`.
    public init(driver: BackupSessionDriver) { self.driver = driver }

    /// The reply to a backup request (an error reply if it failed).
    public func answer(_ message: Message) async -> Message {
        do {
            return try await perform(message)
        } catch let error as SnapfleetError {
            return .error(ErrorBody(error))
        } catch {
            return .error(ErrorBody(SnapfleetError(.internalError, "backup request failed unexpectedly")))
        }
    }

    private func perform(_ message: Message) async throws -> Message {
        switch message {
        case .backupStart(let request):
            let state = try await driver.start(
                backupID: request.backupID, label: request.label, fastCheckpoint: request.fastCheckpoint,
                lease: .seconds(request.leaseSeconds))
            return .backupState(wireState(state))
        case .backupRenew(let request):
            return .backupState(wireState(try await driver.renew(backupID: request.backupID, lease: .seconds(request.leaseSeconds))))
        case .backupStop(let request):
            return try stopped(try await driver.stop(backupID: request.backupID, waitForArchive: request.waitForArchive))
        case .backupAbort(let request):
            return .backupState(wireState(try await driver.abort(backupID: request.backupID)))
        case .backupStatus(let request):
            return .backupState(wireState(try await driver.state(backupID: request.backupID)))
        default:
            throw SnapfleetError(.unexpectedMessage, "\(message.type.rawValue) is not a backup request")
        }
    }

    /// The `backup_stopped` reply, or the reason the backup did not stop.
    private func stopped(_ state: PostgresBackup.BackupState) throws -> Message {
        guard state.phase == .stopped, let start = state.start, let stop = state.stop else {
            throw state.failure ?? SnapfleetError(.backupNotRunning, "backup \(state.backupID) ended as \(state.phase.rawValue)")
        }
        return .backupStopped(
            BackupStopped(
                backupID: state.backupID, start: startPoint(start), stopLSN: stop.lsn.description,
                stopWALFile: stop.walFileName.description, stopTime: stop.time, backupLabel: stop.backupLabel,
                tablespaceMap: stop.tablespaceMap ?? ""))
    }

    private func wireState(_ state: PostgresBackup.BackupState) -> SnapfleetProtocol.BackupState {
        let expires = state.leaseDeadline.map { deadline in
            let remaining = deadline - ContinuousClock.now
            return Timestamp.rfc3339(Date().addingTimeInterval(Double(remaining.components.seconds)))
        }
        return SnapfleetProtocol.BackupState(
            backupID: state.backupID, phase: SnapfleetProtocol.BackupPhase(rawValue: state.phase.rawValue) ?? .failed,
            start: state.start.map(startPoint), leaseExpiresAt: expires, reason: state.failure?.description)
    }

    private func startPoint(_ start: BackupStartInfo) -> BackupStartPoint {
        BackupStartPoint(lsn: start.lsn.description, walFile: start.walFileName.description, timeline: start.timeline, time: start.time)
    }
}
