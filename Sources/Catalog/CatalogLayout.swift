/// The object keys of one server's catalog in a bucket, exactly as barman-cloud lays them out (spec §2.1).
///
/// Every key starts with `root = os.path.join(path, server)`; keys are built with `/` and never
/// carry a leading `/` unless `path` has one.
public struct CatalogLayout: Sendable, Hashable {
    /// `join(path, server)`.
    public let root: String

    /// The layout for `server` under the bucket-relative `path` (may be empty, may end in `/`).
    ///
    /// Throws `invalid_body` for a server name that is empty, `.`/`..`, or contains `/`: it would
    /// move the catalog outside its prefix (POSIX join would even discard `path` for `/name`).
    public init(path: String, server: String) throws {
        guard !server.isEmpty, server != ".", server != "..", !server.contains("/") else {
            throw CatalogErrors.invalid("invalid server name '\(CatalogErrors.preview(server))' for a catalog prefix")
        }
        root = Self.join(path, server)
    }

    /// Python's `os.path.join(a, b)` for a relative `b`: `b` if `a` is empty, else one `/` between them
    /// unless `a` already ends in one.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty || directory.hasSuffix("/") { return directory + name }
        return directory + "/" + name
    }

    /// `ROOT/base/`, listed with delimiter `/` to find backup ids.
    public var basePrefix: String { root + "/base/" }

    /// `ROOT/wals/`, listed recursively to find WAL objects.
    public var walsPrefix: String { root + "/wals/" }

    /// `ROOT/base/<id>/`.
    public func backupPrefix(_ id: BackupID) -> String { basePrefix + id.rawValue + "/" }

    /// `ROOT/base/<id>/backup.info`.
    public func backupInfoKey(_ id: BackupID) -> String { backupPrefix(id) + "backup.info" }

    /// `ROOT/base/<id>/backup_label`.
    public func backupLabelKey(_ id: BackupID) -> String { backupPrefix(id) + "backup_label" }

    /// `ROOT/base/<id>/annotations/keep`.
    public func keepAnnotationKey(_ id: BackupID) -> String { backupPrefix(id) + "annotations/keep" }

    /// `ROOT/wals/<hash dir>/` for a segment-like file, `ROOT/wals/` for a history file.
    public func walDirectory(_ file: WALFile) -> String {
        file.hashDirectory.isEmpty ? walsPrefix : walsPrefix + file.hashDirectory + "/"
    }

    /// `ROOT/wals/<hash dir>/<name>[.ext]`, or `ROOT/wals/<name>[.ext]` for a history file.
    public func walKey(_ file: WALFile, compression: WALCompression? = nil) -> String {
        walDirectory(file) + file.name + (compression?.fileExtension ?? "")
    }

    /// What `key` is, or nil when it is not a catalog object of this server.
    ///
    /// Like barman's listing, a WAL object is recognized by its base name alone (with at most one
    /// compression extension), wherever it sits under `wals/`; backup directories must be named like ids.
    public func object(forKey key: String) -> CatalogObject? {
        if key.hasPrefix(walsPrefix) { return Self.walObject(key.dropFirst(walsPrefix.utf8.count)) }
        guard key.hasPrefix(basePrefix) else { return nil }
        let parts = key.dropFirst(basePrefix.utf8.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, let id = BackupID(rawValue: String(parts[0])), !parts[parts.count - 1].isEmpty else { return nil }
        switch (parts.count, parts[1]) {
        case (2, "backup.info"): return .backupInfo(id)
        case (2, "backup_label"): return .backupLabel(id)
        case (2, _): return .backupFile(id, name: String(parts[1]))
        case (3, "annotations"): return .annotation(id, name: String(parts[2]))
        default: return nil
        }
    }

    /// A WAL object from its key below `wals/`: the base name as is, or after removing exactly one
    /// compression extension (spec §2.4).
    static func walObject(_ relative: Substring) -> CatalogObject? {
        let base = String(relative.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        if let file = WALFile(name: base) { return .wal(file, compression: nil) }
        guard let dot = base.lastIndex(of: "."), let compression = WALCompression(fileExtension: base[dot...]),
            let file = WALFile(name: String(base[..<dot]))
        else { return nil }
        return .wal(file, compression: compression)
    }
}
