import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Point-in-time copies of image files: a reflink clone where the filesystem can share blocks,
/// otherwise a sparse copy that writes only the non-zero data.
enum LocalImageCopy {
    /// How a copy was made.
    enum Method: String, Sendable {
        case reflink
        case sparseCopy = "sparse copy"
    }

    /// `FICLONE` = `_IOW(0x94, 9, int)`; the macro is not imported into Swift.
    private static let ficlone: UInt = 0x4004_9409
    /// `SEEK_DATA` / `SEEK_HOLE` on Linux (only defined with `_GNU_SOURCE`, so not imported).
    private static let seekData: Int32 = 3
    private static let seekHole: Int32 = 4
    private static let chunkSize = 1 << 20

    /// Opens the source image for reading.
    static func openSource(_ path: String) throws(SnapfleetError) -> Int32 {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LocalPaths.error(errno, "cannot open disk image \(path)") }
        return descriptor
    }

    /// Creates the destination, never replacing an existing file (`O_EXCL`); mode 0600 because
    /// it holds a copy of the database.
    static func createDestination(_ path: String, role: String) throws(SnapfleetError) -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let number = errno
            if number == EEXIST {
                throw SnapfleetError(
                    .invalidConfiguration, "\(role) \(path) already exists", hint: "choose another name or delete the old one first")
            }
            throw LocalPaths.error(number, "cannot create \(role) \(path)")
        }
        return descriptor
    }

    /// Copies all of `source` into the empty `destination` and makes it durable.
    static func copy(from source: Int32, to destination: Int32, path: String, allowReflink: Bool = true) throws(SnapfleetError)
        -> Method
    {
        // FICLONE shares the blocks: instant and atomic. It fails with EXDEV across filesystems
        // and EOPNOTSUPP/EINVAL where the filesystem cannot share blocks (ext4): then copy.
        if allowReflink && ioctl(destination, ficlone, source) == 0 {
            try sync(destination, path: path)
            return .reflink
        }
        try sparseCopy(from: source, to: destination, path: path)
        try sync(destination, path: path)
        return .sparseCopy
    }

    /// Copies the data extents only (SEEK_DATA/SEEK_HOLE), skipping all-zero chunks, then sets the size.
    private static func sparseCopy(from source: Int32, to destination: Int32, path: String) throws(SnapfleetError) {
        var info = stat()
        guard fstat(source, &info) == 0 else { throw LocalPaths.error(errno, "cannot stat the disk image copied to \(path)") }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var offset: off_t = 0
        while offset < info.st_size {
            let start = lseek(source, offset, seekData)
            if start < 0 {
                // ENXIO: no data after `offset`, only a hole up to the end.
                guard errno == ENXIO else { throw LocalPaths.error(errno, "cannot find data to copy to \(path)") }
                break
            }
            let end = lseek(source, start, seekHole)
            guard end >= 0 else { throw LocalPaths.error(errno, "cannot find data to copy to \(path)") }
            try copyRange(start..<end, from: source, to: destination, buffer: &buffer, path: path)
            offset = end
        }
        guard ftruncate(destination, info.st_size) == 0 else { throw LocalPaths.error(errno, "cannot set the size of \(path)") }
    }

    private static func copyRange(
        _ range: Range<off_t>, from source: Int32, to destination: Int32, buffer: inout [UInt8], path: String
    ) throws(SnapfleetError) {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let wanted = Int(min(off_t(buffer.count), range.upperBound - offset))
            let count = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, wanted, offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if count == 0 { break }  // The image shrank under us; ftruncate restores the size.
                throw LocalPaths.error(errno, "cannot read the disk image copied to \(path)")
            }
            if buffer[0..<count].contains(where: { $0 != 0 }) {
                try writeAll(buffer[0..<count], at: offset, to: destination, path: path)
            }
            offset += off_t(count)
        }
    }

    private static func writeAll(_ bytes: ArraySlice<UInt8>, at start: off_t, to destination: Int32, path: String) throws(SnapfleetError) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                pwrite(destination, raw.baseAddress! + written, raw.count - written, start + off_t(written))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw LocalPaths.error(errno, "cannot write \(path)", hint: "is the snapshot directory full?") }
            written += count
        }
    }

    /// fsync surfaces late write errors (ext4 reports ENOSPC from delayed allocation here).
    private static func sync(_ descriptor: Int32, path: String) throws(SnapfleetError) {
        guard fsync(descriptor) == 0 else { throw LocalPaths.error(errno, "cannot flush \(path)", hint: "is the snapshot directory full?") }
    }
}
