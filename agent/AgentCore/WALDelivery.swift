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
        let writer = try WALFileWriter(directory: directory, name: name)
        try bytes.withUnsafeBytes { buffer in Result { () throws(SnapfleetError) in try writer.write(buffer) } }.get()
        try writer.commit()
    }

    /// An `.ioError` naming `what` and the system's reason.
    static func failure(_ what: String) -> SnapfleetError {
        SnapfleetError(.ioError, "\(what): \(String(cString: strerror(errno)))")
    }
}

/// A file written piece by piece into a `pg_wal` directory (one `WALDelivery.directory(of:)`
/// accepted), under a temporary name created afresh (never through a link), owned like the
/// directory; `commit` renames it to its name, and a writer dropped before that removes it.
final class WALFileWriter {
    private let directory: String
    private let name: String
    private let temporary: String
    private let directoryFD: Int32
    private var fileFD: Int32
    private let owner: (uid: uid_t, gid: gid_t)

    /// Creates the temporary file for `name` in `directory`.
    init(directory: String, name: String) throws(SnapfleetError) {
        self.directory = directory
        self.name = name
        temporary = ".snapfleet-\(name)-\(getpid())"
        directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw WALDelivery.failure("cannot open \(directory)") }
        var info = stat()
        guard fstat(directoryFD, &info) == 0 else {
            close(directoryFD)
            throw WALDelivery.failure("cannot stat \(directory)")
        }
        owner = (info.st_uid, info.st_gid)
        fileFD = openat(directoryFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fileFD >= 0 else {
            let error = WALDelivery.failure("cannot create \(directory)/\(temporary)")
            close(directoryFD)
            throw error
        }
    }

    deinit {
        if fileFD >= 0 {
            close(fileFD)
            unlinkat(directoryFD, temporary, 0)
        }
        close(directoryFD)
    }

    /// The path the file has once committed.
    var path: String { directory + "/" + name }

    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(SnapfleetError) {
        try PosixFiles.writeAll(fileFD, bytes, path: "\(directory)/\(temporary)")
    }

    /// Gives the file the directory's owner and renames it to its name.
    func commit() throws(SnapfleetError) {
        guard fchown(fileFD, owner.uid, owner.gid) == 0 else { throw WALDelivery.failure("cannot give \(directory)/\(temporary) its owner") }
        let closed = close(fileFD) == 0
        fileFD = -1
        guard closed, renameat(directoryFD, temporary, directoryFD, name) == 0 else {
            let error = WALDelivery.failure("cannot write \(path)")
            unlinkat(directoryFD, temporary, 0)
            throw error
        }
    }
}
