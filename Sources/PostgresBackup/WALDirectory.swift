#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds where `pg_wal` really lives on this host.
enum WALDirectory {
    /// `realpath(data_directory/pg_wal)`; if that fails (the data directory is usually mode 700 and
    /// owned by postgres), the symlink target from `readlink`; nil when neither can be read.
    static func resolve(dataDirectory: String) -> String? {
        let path = dataDirectory + "/pg_wal"
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return linkTarget(path, relativeTo: dataDirectory)
    }

    /// The target of a symlink, made absolute against the directory holding it.
    private static func linkTarget(_ path: String, relativeTo directory: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.hasPrefix("/") ? target : directory + "/" + target
    }
}
