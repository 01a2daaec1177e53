/// One entry of `backup.info`'s `tablespaces`: the tuple `(name, oid, location)` (spec §3.2).
public struct BackupTablespace: Sendable, Hashable {
    /// The tablespace's name.
    public var name: String
    /// Its OID, as in `pg_tblspc/<oid>`.
    public var oid: Int
    /// Its directory, from `pg_tablespace_location(oid)`.
    public var location: String

    /// Creates an entry.
    public init(name: String, oid: Int, location: String) {
        self.name = name
        self.oid = oid
        self.location = location
    }

    /// `('tbs1', 16387, '/path')`.
    var literal: PythonLiteral { .tuple([.string(name), .int(oid), .string(location)]) }

    /// Reads a 3-tuple (or 3-list) of str, int, str.
    init(literal: PythonLiteral, index: Int) throws {
        let items: [PythonLiteral]
        switch literal {
        case .tuple(let values), .list(let values): items = values
        default: items = []
        }
        guard items.count == 3, let name = items[0].stringValue, let oid = items[1].intValue,
            let location = items[2].stringValue
        else {
            throw CatalogErrors.invalid("tablespaces[\(index)]: expected (name, oid, location), found \(CatalogErrors.preview(literal.repr))")
        }
        self.init(name: name, oid: oid, location: location)
    }
}
