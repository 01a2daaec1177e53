import SnapfleetCore

/// The WAL compressions snapfleet writes and reads, named and suffixed as barman-cloud names them.
public enum Compression: String, Sendable, Equatable, CaseIterable, Codable {
    /// Stored as is.
    case none
    /// gzip (`.gz`).
    case gzip
    /// Zstandard (`.zst`).
    case zstd

    /// The suffix of an object key holding this compression (`""` for none).
    public var fileExtension: String {
        switch self {
        case .none: ""
        case .gzip: ".gz"
        case .zstd: ".zst"
        }
    }

    /// The compression an object key's suffix names; nil for a suffix snapfleet cannot read
    /// (barman's `.bz2`, `.xz`, `.lz4`, `.snappy`).
    public static func of(key: String) -> Compression? {
        if key.hasSuffix(".gz") { return .gzip }
        if key.hasSuffix(".zst") { return .zstd }
        let unreadable = [".bz2", ".xz", ".lz4", ".snappy"]
        return unreadable.contains { key.hasSuffix($0) } ? nil : Compression.none
    }

    /// `bytes` compressed (see `Compressor`, which archiving workers keep and reuse).
    public func compress(_ bytes: [UInt8]) throws(SnapfleetError) -> [UInt8] {
        try Compressor().compress(bytes, with: self)
    }

    /// `bytes` decompressed; at most `limit` bytes of output (a bomb or a corrupt stream is an error).
    public func decompress(_ bytes: [UInt8], limit: Int = 1 << 30) throws(SnapfleetError) -> [UInt8] {
        guard self != .none else { return bytes }
        let decompressor = try Decompressor(self, limit: limit)
        var output: [UInt8] = []
        // withUnsafeBytes rethrows untyped errors: the feed reports through a Result instead.
        try bytes.withUnsafeBytes { input in
            Result { () throws(SnapfleetError) in try decompressor.feed(input) { output.append(contentsOf: $0) } }
        }.get()
        try decompressor.finish()
        return output
    }
}
