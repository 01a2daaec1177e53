import SnapfleetCore

extension ServerFacts {
    /// Reads the facts over a connection (and resolves `pg_wal` on this host's file system).
    ///
    /// The role needs `pg_read_all_settings` (for `data_directory`) and execute on `pg_control_system()`.
    public static func read(from connection: PostgresConnection) throws -> ServerFacts {
        let settings = try readSettings(connection)
        func setting(_ name: String) throws -> String {
            guard let value = settings[name] else {
                throw SnapfleetError(
                    .postgresError, "postgresql did not show the setting \(name)",
                    hint: "grant the backup role pg_read_all_settings")
            }
            return value
        }
        let dataDirectory = try setting("data_directory")
        return ServerFacts(
            versionNumber: try integer(try setting("server_version_num"), "server_version_num"),
            version: try setting("server_version"),
            systemIdentifier: try readSystemIdentifier(connection),
            dataDirectory: dataDirectory,
            tablespaces: try readTablespaces(connection),
            walDirectory: WALDirectory.resolve(dataDirectory: dataDirectory),
            walLevel: try setting("wal_level"),
            archiveMode: try setting("archive_mode"),
            archiveCommand: settings["archive_command"],
            walSegmentSize: try integer(try setting("wal_segment_size"), "wal_segment_size"),
            isInRecovery: try readIsInRecovery(connection))
    }

    /// The settings snapfleet reads, by name; `pg_settings` leaves out those the role may not see.
    private static func readSettings(_ connection: PostgresConnection) throws -> [String: String] {
        let rows = try connection.query(
            """
            SELECT name, setting FROM pg_settings
            WHERE name IN ('server_version_num', 'server_version', 'data_directory', 'wal_level',
                           'archive_mode', 'archive_command', 'wal_segment_size')
            """)
        var settings: [String: String] = [:]
        for row in rows {
            if let name = row[0], let value = row[1] { settings[name] = value }
        }
        return settings
    }

    /// `system_identifier` is a uint64 that `bigint` cannot hold, so it is read as text.
    private static func readSystemIdentifier(_ connection: PostgresConnection) throws -> String {
        let rows = try connection.query("SELECT system_identifier::text FROM pg_control_system()")
        guard let value = rows.first?.first ?? nil, UInt64(value) != nil else {
            throw SnapfleetError(.postgresError, "postgresql returned no valid system identifier")
        }
        return value
    }

    /// User tablespaces in name order.
    private static func readTablespaces(_ connection: PostgresConnection) throws -> [Tablespace] {
        let rows = try connection.query(
            """
            SELECT spcname, oid::text, pg_tablespace_location(oid) FROM pg_tablespace
            WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY spcname
            """)
        return try rows.map { row in
            guard let name = row[0], let oidText = row[1], let oid = UInt32(oidText), let location = row[2] else {
                throw SnapfleetError(.postgresError, "postgresql returned an invalid tablespace row")
            }
            return Tablespace(name: name, oid: oid, location: location)
        }
    }

    /// `pg_is_in_recovery()`.
    private static func readIsInRecovery(_ connection: PostgresConnection) throws -> Bool {
        try connection.query("SELECT pg_is_in_recovery()").first?.first == "t"
    }

    /// A numeric setting, or an error naming it.
    private static func integer(_ text: String, _ name: String) throws -> Int {
        guard let value = Int(text) else {
            throw SnapfleetError(.postgresError, "postgresql returned a non-numeric \(name)")
        }
        return value
    }
}
