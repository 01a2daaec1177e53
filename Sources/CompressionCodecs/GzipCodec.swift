import CZlib
import SnapfleetCore

/// gzip compression through zlib, a whole buffer at a time (a WAL segment is 16 MiB by default;
/// reading streams: `Decompressor`).
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
        // A copy of the exact size: the bound-sized buffer (as large as the input) is freed at once.
        return Array(output[0..<(output.count - Int(stream.avail_out))])
    }

    private static func failure(_ what: String) -> SnapfleetError { SnapfleetError(.invalidBody, "gzip: \(what)") }
}
