import Foundation
import SnapfleetCore

/// Writes a fetched WAL file where PostgreSQL asked for it (`restore_command`'s `%p`), so the bytes
/// need not travel to the `wal-fetch` client and be copied again.
///
/// Only a file directly in a PostgreSQL data directory's `pg_wal` qualifies: the directory's parent
/// holds `PG_VERSION`, both belong to the same owner, and the file is created as that owner under a
/// temporary name (never following a link) and renamed into place. Anything else is left to the
/// client, which writes the file itself.
enum WALDelivery {
    /// Whether `destination` is a file this agent may write; nil when it is not.
    static func directory(of destination: String) -> String? {
        let url = URL(fileURLWithPath: destination)
        let name = url.lastPathComponent
        let parent = url.deletingLastPathComponent()
        let nameIsPlain = !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" }
        guard nameIsPlain, !name.hasPrefix("."), parent.lastPathComponent == "pg_wal" else { return nil }
        let dataDirectory = parent.deletingLastPathComponent().path
        var version = stat()
        var walDirectory = stat()
        guard stat(dataDirectory + "/PG_VERSION", &version) == 0, (version.st_mode & S_IFMT) == S_IFREG,
            stat(parent.path, &walDirectory) == 0, (walDirectory.st_mode & S_IFMT) == S_IFDIR, walDirectory.st_uid == version.st_uid
        else { return nil }
        return parent.path
    }

    /// Writes `bytes` to `destination` (a file `directory(of:)` accepted), as the directory's owner.
    static func write(_ bytes: [UInt8], to destination: String) throws(SnapfleetError) {
        guard let directory = directory(of: destination) else {
            throw SnapfleetError(.invalidBody, "\(destination) is not a file of a PostgreSQL pg_wal directory")
        }
        try write(bytes, into: directory, as: URL(fileURLWithPath: destination).lastPathComponent)
    }

    /// Writes `bytes` as `name` in `directory` (one `directory(of:)` accepted; `name` a plain file
    /// name: a destination's, or a prefetched segment's own), as the directory's owner.
    static func write(_ bytes: [UInt8], into directory: String, as name: String) throws(SnapfleetError) {
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw failure("cannot open \(directory)") }
        defer { close(directoryFD) }
        var owner = stat()
        guard fstat(directoryFD, &owner) == 0 else { throw failure("cannot stat \(directory)") }
        let temporary = ".snapfleet-\(name)-\(getpid())"
        let fileFD = openat(directoryFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fileFD >= 0 else { throw failure("cannot create \(directory)/\(temporary)") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Foundation.write(fileFD, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else { break }
            written += count
        }
        let finished = written == bytes.count && fchown(fileFD, owner.st_uid, owner.st_gid) == 0
        close(fileFD)
        guard finished, renameat(directoryFD, temporary, directoryFD, name) == 0 else {
            let error = failure("cannot write \(directory)/\(name)")
            unlinkat(directoryFD, temporary, 0)
            throw error
        }
    }

    private static func failure(_ what: String) -> SnapfleetError {
        SnapfleetError(.ioError, "\(what): \(String(cString: strerror(errno)))")
    }
}
