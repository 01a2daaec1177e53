import CZlib
import CZstd
import SnapfleetCore

/// Decompresses a stream fed in pieces (as a download arrives), handing each decompressed piece
/// on at once: a WAL segment never has to be held whole in memory.
public final class Decompressor {
    private enum Engine {
        case identity
        case gzip(UnsafeMutablePointer<z_stream>)
        case zstd(OpaquePointer)
    }

    private let engine: Engine
    private let compression: Compression
    private let limit: Int
    /// The output chunk each call of the underlying library fills.
    private let chunk: UnsafeMutableRawBufferPointer
    private var produced = 0
    /// Whether the compressed stream's end has been seen (always true for `.none`).
    private var ended: Bool

    /// A decompressor for `compression` refusing to produce more than `limit` bytes (a bomb or a
    /// corrupt stream is an error).
    public init(_ compression: Compression, limit: Int = 1 << 30) throws(SnapfleetError) {
        self.compression = compression
        self.limit = limit
        chunk = .allocate(byteCount: 1 << 20, alignment: 16)
        switch compression {
        case .none:
            engine = .identity
            ended = true
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            guard snapfleet_inflate_init_gzip(stream) == Z_OK else {
                stream.deallocate()
                chunk.deallocate()
                throw Self.failure(.gzip, "inflateInit2")
            }
            engine = .gzip(stream)
            ended = false
        case .zstd:
            guard let context = ZSTD_createDCtx() else {
                chunk.deallocate()
                throw Self.failure(.zstd, "cannot create a context")
            }
            engine = .zstd(context)
            ended = false
        }
    }

    deinit {
        switch engine {
        case .identity: break
        case .gzip(let stream):
            inflateEnd(stream)
            stream.deallocate()
        case .zstd(let context): ZSTD_freeDCtx(context)
        }
        chunk.deallocate()
    }

    /// Decompresses `input`, handing every decompressed piece to `output` before returning.
    public func feed(
        _ input: UnsafeRawBufferPointer, to output: (UnsafeRawBufferPointer) throws(SnapfleetError) -> Void
    ) throws(SnapfleetError) {
        switch engine {
        case .identity: try emit(input, to: output)
        case .gzip(let stream): try inflate(stream, input, to: output)
        case .zstd(let context): try decompress(context, input, to: output)
        }
    }

    /// Checks that the stream ended: input that stops part-way is an error.
    public func finish() throws(SnapfleetError) {
        guard ended else { throw Self.failure(compression, "truncated data") }
    }

    private func inflate(
        _ stream: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, to output: (UnsafeRawBufferPointer) throws(SnapfleetError) -> Void
    ) throws(SnapfleetError) {
        guard !ended, input.count > 0 else { return }  // bytes after the end of the stream are ignored
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        repeat {
            stream.pointee.next_out = chunk.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(chunk.count)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw Self.failure(.gzip, "corrupt data (inflate returned \(status))")
            }
            ended = status == Z_STREAM_END
            try emit(UnsafeRawBufferPointer(rebasing: chunk[0..<(chunk.count - Int(stream.pointee.avail_out))]), to: output)
            // A full output chunk may leave decompressed bytes inside zlib: call again until it has none.
            let outputFull = stream.pointee.avail_out == 0
            if ended || !outputFull && (stream.pointee.avail_in == 0 || status == Z_BUF_ERROR) { break }
        } while true
    }

    private func decompress(
        _ context: OpaquePointer, _ input: UnsafeRawBufferPointer, to output: (UnsafeRawBufferPointer) throws(SnapfleetError) -> Void
    ) throws(SnapfleetError) {
        guard input.count > 0 else { return }
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        repeat {
            var outBuffer = ZSTD_outBuffer(dst: chunk.baseAddress, size: chunk.count, pos: 0)
            let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            guard ZSTD_isError(result) == 0 else { throw Self.failure(.zstd, String(cString: ZSTD_getErrorName(result))) }
            try emit(UnsafeRawBufferPointer(rebasing: chunk[0..<outBuffer.pos]), to: output)
            // 0: a frame is decoded and flushed; more input starts another (barman's streams are one frame).
            ended = result == 0
            if ended, inBuffer.pos == inBuffer.size { break }
            // A full output chunk may leave decompressed bytes inside zstd: call again until it has none.
            if !ended, outBuffer.pos < outBuffer.size, inBuffer.pos == inBuffer.size { break }
        } while true
    }

    private func emit(_ bytes: UnsafeRawBufferPointer, to output: (UnsafeRawBufferPointer) throws(SnapfleetError) -> Void) throws(SnapfleetError) {
        guard bytes.count > 0 else { return }
        produced += bytes.count
        guard produced <= limit else { throw Self.failure(compression, "more than \(limit) bytes once decompressed") }
        try output(bytes)
    }

    private static func failure(_ compression: Compression, _ what: String) -> SnapfleetError {
        SnapfleetError(.invalidBody, "\(compression.rawValue): \(what)")
    }
}
