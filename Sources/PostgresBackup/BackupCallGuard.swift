import Dispatch
import SnapfleetCore
import Synchronization

/// Lets any thread interrupt the call that the driver's queue is running on a backup session.
///
/// A cancel request can race with the call: it may arrive before the statement reaches the
/// server (which then ignores it). So the request is remembered per backup id: a call that has
/// not begun yet is refused, and one in flight is cancelled again on every tick until it returns.
final class BackupCallGuard: Sendable {
    private struct State {
        var handle: PostgresCancelHandle?
        var inFlight: String?
        var cancelled: String?
        var sending = false
    }

    private let state = Mutex(State())
    /// `PQcancel` opens a connection and can block (it has no timeout), so it is sent from here,
    /// never under a lock or on the driver's queue.
    private let sender = DispatchQueue(label: "snapfleet.backup-cancel")

    /// Makes `handle` the way to cancel calls for the session that was just opened.
    func attach(_ handle: PostgresCancelHandle) {
        state.withLock { $0.handle = handle }
    }

    /// Forgets the closed session.
    func detach() {
        state.withLock { $0.handle = nil }
    }

    /// Runs a call for `backupID` unless it was cancelled already.
    func run<T>(for backupID: String, _ call: () throws -> T) throws -> T {
        let refused = state.withLock { state -> Bool in
            guard state.cancelled != backupID else { return true }
            state.inFlight = backupID
            return false
        }
        if refused { throw SnapfleetError(.postgresError, "backup \(backupID) was cancelled before its call began") }
        defer { state.withLock { $0.inFlight = nil } }
        return try call()
    }

    /// Cancels the call for `backupID` now, and keeps cancelling it (see `repeatCancel`).
    func cancel(_ backupID: String) {
        state.withLock { $0.cancelled = backupID }
        repeatCancel()
    }

    /// Sends the cancel (again) if the cancelled call is still running: the first may have come
    /// too early. At most one request is on its way at a time.
    func repeatCancel() {
        let handle = state.withLock { state -> PostgresCancelHandle? in
            guard let cancelled = state.cancelled, state.inFlight == cancelled, !state.sending,
                let handle = state.handle
            else { return nil }
            state.sending = true
            return handle
        }
        guard let handle else { return }
        sender.async {
            handle.requestCancel()
            self.state.withLock { $0.sending = false }
        }
    }
}
