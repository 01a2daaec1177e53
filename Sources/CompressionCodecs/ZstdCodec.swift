import CZstd
import SnapfleetCore

/// Zstandard compression through libzstd, a whole buffer at a time (reading streams: `Decompressor`,
/// which also reads frames without a content size, as streaming writers such as barman's produce).
enum ZstdCodec {
    static func compress(_ input: [UInt8]) throws(SnapfleetError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, $0.count, source.baseAddress, source.count, 1) }
        }
        guard ZSTD_isError(written) == 0 else { throw failure(written) }
        // A copy of the exact size: the bound-sized buffer (as large as the input) is freed at once.
        return Array(output[0..<written])
    }

    private static func failure(_ code: Int) -> SnapfleetError {
        SnapfleetError(.invalidBody, "zstd: \(String(cString: ZSTD_getErrorName(code)))")
    }
}
