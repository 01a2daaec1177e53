#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A request body that curl pulls in pieces and may ask to rewind (when it resends).
protocol RequestBodySource: AnyObject {
    /// The total length, declared up front as `Content-Length`.
    var length: Int64 { get }
    /// Copies the next bytes into `buffer`; returns how many (0 at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Restarts reading at `offset` from the start.
    func rewind(to offset: Int64) throws
}

/// A body held in memory (`[UInt8]` or `Data`).
final class MemoryBodySource: RequestBodySource {
    private enum Storage {
        case bytes([UInt8])
        case data(Data)
    }

    private let storage: Storage
    private var offset = 0
    let length: Int64

    /// A body of bytes.
    init(bytes: [UInt8]) {
        storage = .bytes(bytes)
        length = Int64(bytes.count)
    }

    /// A body of `Data`.
    init(data: Data) {
        storage = .data(data)
        length = Int64(data.count)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch storage {
        case .bytes(let bytes): bytes.withUnsafeBytes { copy(from: $0, into: buffer) }
        case .data(let data): data.withUnsafeBytes { copy(from: $0, into: buffer) }
        }
    }

    func rewind(to offset: Int64) throws {
        self.offset = Int(min(max(offset, 0), length))
    }

    /// Copies what fits from the current offset and advances it.
    private func copy(from source: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, source.count - offset)
        guard count > 0 else { return 0 }
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
        offset += count
        return count
    }
}

/// A body streamed from a regular file straight into curl's buffer.
final class FileBodySource: RequestBodySource {
    private let file: FileDescriptor
    let length: Int64

    /// Opens `path` and takes its current size as the body length.
    init(path: String) throws {
        file = try FileDescriptor.openForReading(path)
        length = try file.regularFileSize()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try file.readChunk(into: buffer)
    }

    func rewind(to offset: Int64) throws {
        try file.seek(to: offset)
    }
}
