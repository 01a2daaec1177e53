import SnapfleetCore

/// What an agent knows about its PostgreSQL server: facts when reachable, an error when not.
public struct PostgresReport: WireBody {
    /// Whether the agent could query PostgreSQL.
    public var available: Bool
    /// The server's facts (present when `available`).
    public var facts: PostgresFacts?
    /// Why PostgreSQL could not be queried (present when not `available`).
    public var error: String?

    /// A report for a reachable server.
    public static func up(_ facts: PostgresFacts) -> PostgresReport {
        PostgresReport(available: true, facts: facts, error: nil)
    }

    /// A report for an unreachable server.
    public static func down(_ error: String) -> PostgresReport {
        PostgresReport(available: false, facts: nil, error: Wire.sanitized(error))
    }

    /// Creates a report.
    public init(available: Bool, facts: PostgresFacts?, error: String?) {
        self.available = available
        self.facts = facts
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case available, facts, error
    }

    /// Facts go with `available`, an error without.
    public func validate() throws(SnapfleetError) {
        switch (available, facts, error) {
        case (true, .some(let facts), nil): try facts.validate()
        case (false, nil, .some(let error)): try Wire.checkText(error, field: "postgres.error")
        default:
            throw SnapfleetError(.invalidBody, "postgres must carry facts when available and an error when not")
        }
    }
}

/// PostgreSQL's facts as the agent reports them.
public struct PostgresFacts: WireBody {
    /// `server_version_num`, e.g. 150018.
    public var serverVersionNum: Int
    /// `server_version`, e.g. "15.18 (Debian 15.18-0+deb12u1)".
    public var serverVersion: String
    /// The cluster's system identifier (a uint64, as decimal text).
    public var systemIdentifier: String
    /// `data_directory`.
    public var dataDirectory: String
    /// User tablespaces.
    public var tablespaces: [Tablespace]
    /// The real path of `pg_wal` (differs from `data_directory/pg_wal` when it is a symlink).
    public var walDirectory: String?
    /// `wal_level`.
    public var walLevel: String
    /// `archive_mode`.
    public var archiveMode: String
    /// `archive_command`.
    public var archiveCommand: String
    /// `wal_segment_size` in bytes.
    public var walSegmentSize: Int
    /// Whether the server is a standby.
    public var inRecovery: Bool

    /// Creates facts.
    public init(
        serverVersionNum: Int, serverVersion: String, systemIdentifier: String, dataDirectory: String,
        tablespaces: [Tablespace], walDirectory: String?, walLevel: String, archiveMode: String,
        archiveCommand: String, walSegmentSize: Int, inRecovery: Bool
    ) {
        self.serverVersionNum = serverVersionNum
        self.serverVersion = serverVersion
        self.systemIdentifier = systemIdentifier
        self.dataDirectory = dataDirectory
        self.tablespaces = tablespaces
        self.walDirectory = walDirectory
        self.walLevel = walLevel
        self.archiveMode = archiveMode
        self.archiveCommand = archiveCommand
        self.walSegmentSize = walSegmentSize
        self.inRecovery = inRecovery
    }

    enum CodingKeys: String, CodingKey {
        case serverVersionNum = "server_version_num"
        case serverVersion = "server_version"
        case systemIdentifier = "system_identifier"
        case dataDirectory = "data_directory"
        case tablespaces
        case walDirectory = "wal_directory"
        case walLevel = "wal_level"
        case archiveMode = "archive_mode"
        case archiveCommand = "archive_command"
        case walSegmentSize = "wal_segment_size"
        case inRecovery = "in_recovery"
    }

    /// Checks paths, the identifier and sizes.
    public func validate() throws(SnapfleetError) {
        try Wire.checkRange(serverVersionNum, 90_000...999_999, field: "server_version_num")
        try Wire.checkText(serverVersion, field: "server_version", maxLength: 256)
        guard systemIdentifier.utf8.allSatisfy(Wire.isDigitByte), UInt64(systemIdentifier) != nil else {
            throw SnapfleetError(.invalidBody, "system_identifier must be a decimal number")
        }
        try Wire.checkPath(dataDirectory, field: "data_directory")
        if let walDirectory { try Wire.checkPath(walDirectory, field: "wal_directory") }
        for tablespace in tablespaces { try tablespace.validate() }
        try Wire.checkText(walLevel, field: "wal_level", maxLength: 64)
        try Wire.checkText(archiveMode, field: "archive_mode", maxLength: 64)
        try Wire.checkText(archiveCommand, field: "archive_command")
        try Wire.checkRange(walSegmentSize, 1 << 20...1 << 30, field: "wal_segment_size")
    }
}

/// A user tablespace.
public struct Tablespace: WireBody {
    /// Its name.
    public var name: String
    /// Its OID (the name of its `pg_tblspc` symlink).
    public var oid: UInt32
    /// Its directory.
    public var location: String

    /// Creates a tablespace description.
    public init(name: String, oid: UInt32, location: String) {
        self.name = name
        self.oid = oid
        self.location = location
    }

    enum CodingKeys: String, CodingKey {
        case name, oid, location
    }

    /// Checks the name and the path.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(name, field: "tablespaces.name", maxLength: 64)
        try Wire.checkPath(location, field: "tablespaces.location")
    }
}
