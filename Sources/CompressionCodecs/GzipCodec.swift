import CZlib
import SnapfleetCore

/// gzip through zlib, whole buffers at a time (a WAL segment is 16 MiB by default).
enum GzipCodec {
    static func compress(_ input: [UInt8]) throws(SnapfleetError) -> [UInt8] {
        var stream = z_stream()
        guard snapfleet_deflate_init_gzip(&stream, 6) == Z_OK else { throw failure("deflateInit2") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = uInt(destination.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw failure("deflate returned \(status)") }
        output.removeLast(Int(stream.avail_out))
        return output
    }

    static func decompress(_ input: [UInt8], limit: Int) throws(SnapfleetError) -> [UInt8] {
        var stream = z_stream()
        guard snapfleet_inflate_init_gzip(&stream) == Z_OK else { throw failure("inflateInit2") }
        defer { inflateEnd(&stream) }
        // withUnsafeBufferPointer rethrows untyped errors: the loop reports through a Result instead.
        return try input.withUnsafeBufferPointer { source in inflateAll(&stream, source, limit: limit) }.get()
    }

    private static func inflateAll(_ stream: inout z_stream, _ source: UnsafeBufferPointer<UInt8>, limit: Int) -> Result<[UInt8], SnapfleetError> {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
        stream.avail_in = uInt(source.count)
        var status = Z_OK
        while status != Z_STREAM_END {
            status = chunk.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(buffer.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            guard status == Z_OK || status == Z_STREAM_END else { return .failure(failure("corrupt gzip data (inflate returned \(status))")) }
            output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            guard output.count <= limit else { return .failure(failure("more than \(limit) bytes once decompressed")) }
            if status == Z_OK, stream.avail_in == 0, stream.avail_out != 0 { return .failure(failure("truncated gzip data")) }
        }
        return .success(output)
    }

    private static func failure(_ what: String) -> SnapfleetError { SnapfleetError(.invalidBody, "gzip: \(what)") }
}
