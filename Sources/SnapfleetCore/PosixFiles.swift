#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The POSIX file operations the file store and the agent's WAL code share, each turning `errno`
/// into a `SnapfleetError`.
public enum PosixFiles {
    /// The error for a failed call, read from `errno` right after it.
    public static func failure(_ what: String, _ path: String, errnoValue: Int32 = errno) -> SnapfleetError {
        let code: ErrorCode = errnoValue == ENOENT ? .notFound : (errnoValue == EEXIST ? .alreadyExists : .ioError)
        return SnapfleetError(code, "\(what) \(printable(path)) failed: \(String(cString: strerror(errnoValue)))")
    }

    /// Opens a file, retrying on EINTR.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(SnapfleetError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw failure("open", path) }
        }
    }

    /// Writes all of `bytes` to `fd`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SnapfleetError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            offset += written
        }
    }

    /// Writes all of an array to `fd`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SnapfleetError) {
        // withUnsafeBytes only rethrows untyped errors, so the typed one travels in a Result.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SnapfleetError) in try writeAll(fd, raw, path: path) }
        }
        try result.get()
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(SnapfleetError) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw failure("read", path) }
        }
    }

    /// Calls `body` with each chunk of the file at `path`, in order.
    public static func forEachChunk(
        of path: String, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws(SnapfleetError) -> Void
    ) throws(SnapfleetError) {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while case let count = try read(fd, into: buffer, path: path), count > 0 {
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The whole file in memory.
    public static func readAll(_ path: String) throws(SnapfleetError) -> [UInt8] {
        var bytes: [UInt8] = []
        try forEachChunk(of: path) { chunk throws(SnapfleetError) in bytes.append(contentsOf: chunk) }
        return bytes
    }

    /// Flushes a file or directory to disk.
    public static func sync(_ fd: Int32, path: String) throws(SnapfleetError) {
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }

    /// Flushes a directory, so that a rename or link in it survives a crash.
    public static func syncDirectory(_ path: String) throws(SnapfleetError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd, path: path)
    }

    /// `stat`, or nil when nothing is there.
    public static func status(_ path: String) throws(SnapfleetError) -> stat? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure("stat", path)
        }
        return info
    }

    /// Whether `info` describes a directory.
    public static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }

    /// Whether `info` describes a regular file.
    public static func isRegularFile(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }

    /// Creates `path` and its missing parents (mode 0700: backups are private).
    public static func makeDirectories(_ path: String) throws(SnapfleetError) {
        if let info = try status(path) {
            guard isDirectory(info) else { throw SnapfleetError(.ioError, "\(path) exists and is not a directory") }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        // Another writer may have created it between the stat and here.
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw failure("mkdir", path) }
    }

    /// The names in a directory, without `.` and `..`.
    public static func entries(of path: String) throws(SnapfleetError) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw failure("opendir", path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Renames `source` over `target` atomically.
    public static func rename(_ source: String, to target: String) throws(SnapfleetError) {
        guard Glibc.rename(source, target) == 0 else { throw failure("rename", target) }
    }

    /// Reads `count` bytes at `offset` (fewer at the end of the file).
    public static func readRange(_ path: String, offset: Int64, count: Int) throws(SnapfleetError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled)) }
            if got < 0 && errno == EINTR { continue }
            if got < 0 { throw failure("read", path) }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    /// `path` with control characters shown as `?`, for error messages (an object key may carry any byte).
    public static func printable(_ path: String) -> String {
        String(path.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }

    /// Removes a file; false when there was none.
    @discardableResult
    public static func remove(_ path: String) throws(SnapfleetError) -> Bool {
        guard unlink(path) == 0 else {
            if errno == ENOENT { return false }
            throw failure("unlink", path)
        }
        return true
    }
}
