import PostgresBackup
import SnapfleetProtocol

/// One directory PostgreSQL keeps data in.
public struct DataDirectory: Sendable, Equatable {
    /// What kind of directory it is.
    public var role: PathRole
    /// The tablespace's name, for tablespaces.
    public var name: String?
    /// Where it is.
    public var path: String
}

extension ServerFacts {
    /// The data directory, each tablespace, and `pg_wal` when it lives outside the data directory:
    /// everything a snapshot backup must capture.
    public var dataDirectories: [DataDirectory] {
        var directories = [DataDirectory(role: .dataDirectory, name: nil, path: dataDirectory)]
        directories += tablespaces.map { DataDirectory(role: .tablespace, name: $0.name, path: $0.location) }
        if let wal = walDirectory, !wal.hasPrefix(dataDirectory + "/") {
            directories.append(DataDirectory(role: .walDirectory, name: nil, path: wal))
        }
        return directories
    }
}

extension DataDirectory {
    /// How checks name it.
    var label: String { role.label(name: name) }
}
