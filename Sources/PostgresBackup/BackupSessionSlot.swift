import Dispatch

/// Holds the open backup session; touched only on the driver's serial queue.
final class BackupSessionSlot: @unchecked Sendable {
    // @unchecked: every access checks that it runs on `queue`, which serializes them.
    private let queue: DispatchQueue
    private var current: BackupSession?

    /// A slot confined to `queue`.
    init(queue: DispatchQueue) { self.queue = queue }

    /// The open session, if any.
    var session: BackupSession? {
        get {
            dispatchPrecondition(condition: .onQueue(queue))
            return current
        }
        set {
            dispatchPrecondition(condition: .onQueue(queue))
            current = newValue
        }
    }

    /// The open session if it belongs to `backupID`.
    func session(for backupID: String) -> BackupSession? {
        guard let session, session.backupID == backupID else { return nil }
        return session
    }
}
