import SnapfleetCore

extension HashFunction {
    /// The digest of the file at `path`, read 1 MiB at a time (a WAL segment or a large object is
    /// never held whole); a failure to read it or to hash is a `SnapfleetError` naming the file.
    public static func hash(file path: String) throws(SnapfleetError) -> Digest {
        let failure = { (error: DigestError) in SnapfleetError(.internalError, "\(Self.self) of \(path): \(error)") }
        let hasher: Self
        do throws(DigestError) { hasher = try Self() } catch { throw failure(error) }
        try PosixFiles.forEachChunk(of: path) { chunk throws(SnapfleetError) in
            do throws(DigestError) { try hasher.update(bufferPointer: chunk) } catch { throw failure(error) }
        }
        do throws(DigestError) { return try hasher.finalize() } catch { throw failure(error) }
    }
}
