import SnapfleetCore

extension BackupSessionMachine {
    /// Identifies one caller's request so that a later reply reaches it.
    public struct RequestID: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
        /// The number the driver gave the request.
        public let value: Int

        /// Wraps a number.
        public init(_ value: Int) { self.value = value }

        /// Allows `1` for `RequestID(1)` in transcripts.
        public init(integerLiteral value: Int) { self.value = value }

        /// `#n`.
        public var description: String { "#\(value)" }
    }

    /// A request to start a backup.
    public struct StartRequest: Sendable, Equatable {
        /// The controller's backup id (the key of every later request).
        public var backupID: String
        /// The label for `pg_backup_start`.
        public var label: String
        /// Whether to request an immediate checkpoint rather than a spread one.
        public var fastCheckpoint: Bool
        /// How long the backup may run without a renewal or a stop.
        public var lease: Duration
        /// When the request arrived.
        public var now: ContinuousClock.Instant

        /// Describes a start request.
        public init(backupID: String, label: String, fastCheckpoint: Bool, lease: Duration, now: ContinuousClock.Instant) {
            self.backupID = backupID
            self.label = label
            self.fastCheckpoint = fastCheckpoint
            self.lease = lease
            self.now = now
        }
    }

    /// Something that happened: a request, the outcome of a PostgreSQL call, or the passing of time.
    public enum Event: Sendable, Equatable {
        /// A caller asks to start a backup.
        case startRequested(RequestID, StartRequest)
        /// `pg_backup_start` returned.
        case startSucceeded(backupID: String, BackupStartInfo)
        /// `pg_backup_start` (or connecting for it) failed.
        case startFailed(backupID: String, SnapfleetError)
        /// A caller extends the lease to `now + lease`.
        case renewRequested(RequestID, backupID: String, lease: Duration, now: ContinuousClock.Instant)
        /// A caller asks to stop the backup.
        case stopRequested(RequestID, backupID: String, waitForArchive: Bool)
        /// `pg_backup_stop` returned.
        case stopSucceeded(backupID: String, BackupStopInfo)
        /// `pg_backup_stop` failed.
        case stopFailed(backupID: String, SnapfleetError)
        /// A caller asks to end the backup without a result.
        case abortRequested(RequestID, backupID: String)
        /// Time passed (the lease is checked).
        case tick(now: ContinuousClock.Instant)
        /// The backup's PostgreSQL session died while no call was running on it.
        case sessionLost(backupID: String, SnapfleetError)
    }

    /// Something the driver must do, in the order given.
    public enum Action: Sendable, Equatable {
        /// Open the backup session and call `pg_backup_start`.
        case callStart(backupID: String, label: String, fastCheckpoint: Bool)
        /// Call `pg_backup_stop` on the backup session.
        case callStop(backupID: String, waitForArchive: Bool)
        /// Interrupt the call running on the backup session (a `pg_backup_start` waiting for a checkpoint).
        case cancelCall(backupID: String)
        /// End the backup on the server (`pg_backup_stop` without waiting) and close the session.
        case endSession(backupID: String)
        /// Close the session; the backup on the server is already over (stopped, or never started).
        case closeSession(backupID: String)
        /// Answer a request.
        case reply(RequestID, Result<BackupState, SnapfleetError>)
        /// Tell the owner that the lease expired and the backup was ended.
        case reportLeaseExpired(backupID: String)
    }
}
