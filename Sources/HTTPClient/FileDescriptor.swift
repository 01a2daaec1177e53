import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An open POSIX file, closed in `deinit`; errors read `errno` right after each call.
final class FileDescriptor {
    /// The path it was opened with, for error messages.
    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Opens an existing file for reading.
    static func openForReading(_ path: String) throws -> FileDescriptor {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ioError("cannot open \(path)", errno: errno) }
        return FileDescriptor(path: path, descriptor: descriptor)
    }

    /// Creates (or truncates) a file for writing, mode 0600: bodies are backup data.
    static func create(_ path: String) throws -> FileDescriptor {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ioError("cannot create \(path)", errno: errno) }
        return FileDescriptor(path: path, descriptor: descriptor)
    }

    /// The size of a regular file; anything else (a pipe, a directory) is refused because
    /// an upload must declare its length up front.
    func regularFileSize() throws -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.ioError("cannot stat \(path)", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SnapfleetError(.ioError, "\(path) is not a regular file")
        }
        return Int64(info.st_size)
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    func readChunk(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw Self.ioError("cannot read \(path)", errno: errno) }
        }
    }

    /// Writes all of `buffer`, retrying short writes.
    func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let count = write(descriptor, buffer.baseAddress! + done, buffer.count - done)
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.ioError("cannot write \(path)", errno: errno)
            }
            done += count
        }
    }

    /// Moves the read position to `offset` from the start.
    func seek(to offset: Int64) throws {
        guard lseek(descriptor, off_t(offset), SEEK_SET) >= 0 else {
            throw Self.ioError("cannot seek in \(path)", errno: errno)
        }
    }

    /// An `.ioError` with the system's text for `errno`.
    private static func ioError(_ message: String, errno number: Int32) -> SnapfleetError {
        SnapfleetError(.ioError, "\(message): \(String(cString: strerror(number)))")
    }
}
