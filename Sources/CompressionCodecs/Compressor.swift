import CZlib
import CZstd
import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Compresses whole WAL files (or buffers) one at a time, keeping its buffers and zstd context for
/// the next one: a worker archiving segment after segment makes one and reuses it, so 16 MiB of
/// memory is not allocated, and page-faulted in, afresh for every segment.
///
/// gzip is level 6 with mtime 0 and zstd level 1 (the fastest: archiving must keep up with the
/// server, and WAL is read rarely), each compressed in one call: equal input gives equal output,
/// so a segment archived again is recognised by its checksum. Reading: `Decompressor`.
public final class Compressor {
    private let input = Buffer()
    private let output = Buffer()
    private var zstdContext: OpaquePointer?

    /// A compressor with nothing allocated yet.
    public init() {}

    deinit {
        if let zstdContext { ZSTD_freeCCtx(zstdContext) }
    }

    /// `bytes` compressed with `compression` (`.none`: `bytes` as they are).
    public func compress(_ bytes: [UInt8], with compression: Compression) throws(SnapfleetError) -> [UInt8] {
        guard compression != .none else { return bytes }
        // withUnsafeBytes rethrows untyped errors: the work reports through a Result instead.
        return try bytes.withUnsafeBytes { source in Result { () throws(SnapfleetError) in try compress(source, with: compression) } }.get()
    }

    /// The file at `path` compressed with `compression`, read into a buffer kept for the next file.
    public func compress(file path: String, with compression: Compression) throws(SnapfleetError) -> [UInt8] {
        try compress(try read(path), with: compression)
    }

    private func compress(_ source: UnsafeRawBufferPointer, with compression: Compression) throws(SnapfleetError) -> [UInt8] {
        let count =
            switch compression {
            case .none: try copy(source)
            case .gzip: try gzip(source)
            case .zstd: try zstd(source)
            }
        // An array of the exact size: the buffers stay with the compressor for the next file.
        return Array(UnsafeRawBufferPointer(rebasing: output.bytes[0..<count]))
    }

    private func copy(_ source: UnsafeRawBufferPointer) throws(SnapfleetError) -> Int {
        output.reserve(source.count)
        output.bytes.copyMemory(from: source)
        return source.count
    }

    private func zstd(_ source: UnsafeRawBufferPointer) throws(SnapfleetError) -> Int {
        if zstdContext == nil { zstdContext = ZSTD_createCCtx() }
        guard let zstdContext else { throw SnapfleetError(.internalError, "zstd: cannot create a context") }
        output.reserve(ZSTD_compressBound(source.count))
        // The same bytes as ZSTD_compress, which is this call on a context of its own.
        let written = ZSTD_compressCCtx(zstdContext, output.bytes.baseAddress, output.bytes.count, source.baseAddress, source.count, 1)
        guard ZSTD_isError(written) == 0 else { throw SnapfleetError(.invalidBody, "zstd: \(String(cString: ZSTD_getErrorName(written)))") }
        return written
    }

    private func gzip(_ source: UnsafeRawBufferPointer) throws(SnapfleetError) -> Int {
        var stream = z_stream()
        guard snapfleet_deflate_init_gzip(&stream, 6) == Z_OK else { throw SnapfleetError(.invalidBody, "gzip: deflateInit2") }
        defer { deflateEnd(&stream) }
        output.reserve(Int(deflateBound(&stream, uLong(source.count))))
        stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(source.count)
        stream.next_out = output.bytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.bytes.count)
        let status = deflate(&stream, Z_FINISH)
        guard status == Z_STREAM_END else { throw SnapfleetError(.invalidBody, "gzip: deflate returned \(status)") }
        return output.bytes.count - Int(stream.avail_out)
    }

    /// Reads the whole file at `path` into the input buffer.
    private func read(_ path: String) throws(SnapfleetError) -> UnsafeRawBufferPointer {
        let descriptor = try PosixFiles.open(path, O_RDONLY)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw PosixFiles.failure("stat", path) }
        let size = Int(info.st_size)
        input.reserve(size)
        var count = 0
        while count < size {
            let read = try PosixFiles.read(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: input.bytes[count..<size]), path: path)
            guard read > 0 else { throw SnapfleetError(.ioError, "\(path) got shorter while it was read") }
            count += read
        }
        return UnsafeRawBufferPointer(rebasing: input.bytes[0..<size])
    }
}

/// Memory that grows when asked for more than it has, and is otherwise kept.
private final class Buffer {
    private(set) var bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit { bytes.deallocate() }

    /// Makes `bytes` at least `count` long (its contents are not kept when it grows).
    func reserve(_ count: Int) {
        guard bytes.count < count else { return }
        bytes.deallocate()
        bytes = .allocate(byteCount: max(count, 1), alignment: 64)
    }
}
