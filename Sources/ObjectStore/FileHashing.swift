import Digests
import SnapfleetCore

/// SHA-256 of a file, read in chunks so that a large object is never held in memory.
enum FileHashing {
    /// Lowercase hex SHA-256 of the file at `path`.
    static func sha256Hex(of path: String) throws(SnapfleetError) -> String {
        let hash: SHA256
        do throws(DigestError) { hash = try SHA256() } catch { throw wrap(error, path) }
        try PosixFiles.forEachChunk(of: path) { chunk throws(SnapfleetError) in
            do throws(DigestError) { try hash.update(bufferPointer: chunk) } catch { throw wrap(error, path) }
        }
        do throws(DigestError) { return try hash.finalize().hex } catch { throw wrap(error, path) }
    }

    private static func wrap(_ error: DigestError, _ path: String) -> SnapfleetError {
        SnapfleetError(.internalError, "sha-256 of \(path): \(error)")
    }
}
