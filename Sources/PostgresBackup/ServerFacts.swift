import SnapfleetCore

/// What snapfleet needs to know about a PostgreSQL server before backing it up.
public struct ServerFacts: Sendable, Equatable {
    /// The oldest version snapfleet supports, as a `server_version_num`.
    public static let minimumVersionNumber = 130_000

    /// `server_version_num`, e.g. 150004.
    public var versionNumber: Int
    /// `server_version`, e.g. `15.4 (Debian 15.4-1)`.
    public var version: String
    /// The cluster's system identifier (a uint64, kept as its decimal text).
    public var systemIdentifier: String
    /// `data_directory`.
    public var dataDirectory: String
    /// User tablespaces, by name.
    public var tablespaces: [Tablespace]
    /// The real path of `data_directory/pg_wal`, or the symlink's target if this process cannot
    /// resolve it, or nil if neither can be read.
    public var walDirectory: String?
    /// `wal_level`.
    public var walLevel: String
    /// `archive_mode`.
    public var archiveMode: String
    /// `archive_command`, or nil if this role may not read it.
    public var archiveCommand: String?
    /// The WAL segment size in bytes.
    public var walSegmentSize: Int
    /// Whether the server is a standby (`pg_is_in_recovery()`).
    public var isInRecovery: Bool

    /// Describes a server.
    public init(
        versionNumber: Int, version: String, systemIdentifier: String, dataDirectory: String,
        tablespaces: [Tablespace], walDirectory: String?, walLevel: String, archiveMode: String,
        archiveCommand: String?, walSegmentSize: Int, isInRecovery: Bool
    ) {
        self.versionNumber = versionNumber
        self.version = version
        self.systemIdentifier = systemIdentifier
        self.dataDirectory = dataDirectory
        self.tablespaces = tablespaces
        self.walDirectory = walDirectory
        self.walLevel = walLevel
        self.archiveMode = archiveMode
        self.archiveCommand = archiveCommand
        self.walSegmentSize = walSegmentSize
        self.isInRecovery = isInRecovery
    }

    /// The major version (15 for 150004).
    public var majorVersion: Int { versionNumber / 10_000 }

    /// Throws `.unsupportedPostgresVersion` unless the server is PostgreSQL 13 or later.
    public func checkSupported() throws {
        try Self.checkSupported(versionNumber: versionNumber, version: version)
    }

    /// Throws `.unsupportedPostgresVersion` unless `versionNumber` is PostgreSQL 13 or later.
    public static func checkSupported(versionNumber: Int, version: String) throws {
        guard versionNumber >= minimumVersionNumber else {
            throw SnapfleetError(
                .unsupportedPostgresVersion, "postgresql \(version) is not supported",
                hint: "snapfleet needs postgresql 13 or later")
        }
    }
}
