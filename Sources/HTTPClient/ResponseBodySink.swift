import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeps a response body in memory, refusing to grow past a limit.
final class MemoryBodySink {
    private let limit: Int
    private(set) var bytes: [UInt8] = []

    /// A sink that fails once more than `limit` bytes arrive.
    init(limit: Int) { self.limit = limit }

    /// Appends bytes.
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        // A misbehaving server must not be able to exhaust the agent's memory.
        guard bytes.count + buffer.count <= limit else {
            throw SnapfleetError(.httpError, "response body larger than \(limit) bytes")
        }
        bytes.append(contentsOf: buffer)
    }
}

/// Writes a response body to a file, created on the first byte (or at the end, if empty).
final class FileBodySink {
    private let path: String
    private var file: FileDescriptor?

    /// A sink for `path`; nothing is created yet.
    init(path: String) { self.path = path }

    /// Appends bytes, creating the file first if needed.
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        try opened().writeAll(buffer)
    }

    /// Makes sure the file exists (an empty body still yields a file) and closes it.
    func finish() throws {
        _ = try opened()
        file = nil
    }

    /// Removes a partly written file after a failed transfer.
    func discard() {
        guard file != nil else { return }
        file = nil
        unlink(path)
    }

    private func opened() throws -> FileDescriptor {
        if let file { return file }
        let created = try FileDescriptor.create(path)
        file = created
        return created
    }
}
