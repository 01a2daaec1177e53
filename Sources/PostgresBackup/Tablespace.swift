/// A user tablespace (never `pg_default` or `pg_global`).
public struct Tablespace: Sendable, Hashable {
    /// Its name (`spcname`).
    public var name: String
    /// Its oid, also the name of its symlink under `pg_tblspc`.
    public var oid: UInt32
    /// Its directory as PostgreSQL reports it (`pg_tablespace_location`).
    public var location: String

    /// Describes a tablespace.
    public init(name: String, oid: UInt32, location: String) {
        self.name = name
        self.oid = oid
        self.location = location
    }
}
