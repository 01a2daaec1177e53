import CZstd
import SnapfleetCore

/// Zstandard through libzstd; decompression streams, so frames without a content size
/// (as streaming writers such as barman's produce) are read too.
enum ZstdCodec {
    static func compress(_ input: [UInt8]) throws(SnapfleetError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, $0.count, source.baseAddress, source.count, 1) }
        }
        guard ZSTD_isError(written) == 0 else { throw failure(written) }
        output.removeLast(output.count - written)
        return output
    }

    static func decompress(_ input: [UInt8], limit: Int) throws(SnapfleetError) -> [UInt8] {
        guard let context = ZSTD_createDCtx() else { throw SnapfleetError(.internalError, "zstd: cannot create a context") }
        defer { ZSTD_freeDCtx(context) }
        // withUnsafeBytes rethrows untyped errors: the loop reports through a Result instead.
        return try input.withUnsafeBytes { source in stream(context, source, limit: limit) }.get()
    }

    private static func stream(_ context: OpaquePointer, _ source: UnsafeRawBufferPointer, limit: Int) -> Result<[UInt8], SnapfleetError> {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
        var pending = 1
        while inBuffer.pos < inBuffer.size || pending != 0 {
            let (result, produced) = chunk.withUnsafeMutableBytes { buffer in
                var outBuffer = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                return (result, outBuffer.pos)
            }
            guard ZSTD_isError(result) == 0 else { return .failure(failure(result)) }
            output.append(contentsOf: chunk[0..<produced])
            guard output.count <= limit else { return .failure(SnapfleetError(.invalidBody, "zstd: more than \(limit) bytes once decompressed")) }
            pending = result
            if produced == 0, inBuffer.pos == inBuffer.size, pending != 0 { return .failure(SnapfleetError(.invalidBody, "zstd: truncated data")) }
        }
        return .success(output)
    }

    private static func failure(_ code: Int) -> SnapfleetError {
        SnapfleetError(.invalidBody, "zstd: \(String(cString: ZSTD_getErrorName(code)))")
    }
}
