import SnapfleetCore

extension BackupSessionDriver {
    /// How the driver reaches PostgreSQL and how often it checks the lease.
    public struct Configuration: Sendable {
        /// The libpq connection string (a secret: it may hold a password).
        public var conninfo: Redacted<String>
        /// How long connecting may take. Default 10 s.
        public var connectTimeout: Duration
        /// `application_name` of the backup session unless the conninfo sets one. Default `snapfleet-backup`.
        public var applicationName: String
        /// How often the lease is checked. Default 250 ms.
        public var tickInterval: Duration
        /// How often an idle backup session is checked for life. Default 1 s.
        public var livenessInterval: Duration
        /// The statement timeout for `pg_backup_stop(false)` when a backup is ended. Default 5 s.
        public var endStatementTimeout: Duration

        /// A configuration with the defaults above.
        public init(
            conninfo: Redacted<String>, connectTimeout: Duration = .seconds(10),
            applicationName: String = "snapfleet-backup", tickInterval: Duration = .milliseconds(250),
            livenessInterval: Duration = .seconds(1), endStatementTimeout: Duration = .seconds(5)
        ) {
            self.conninfo = conninfo
            self.connectTimeout = connectTimeout
            self.applicationName = applicationName
            self.tickInterval = tickInterval
            self.livenessInterval = livenessInterval
            self.endStatementTimeout = endStatementTimeout
        }
    }
}
