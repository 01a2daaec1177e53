/// A WAL object's compression, named by its key's extension (`ALLOWED_COMPRESSIONS`, spec §2.1, §9.1).
public enum WALCompression: String, Sendable, Hashable, CaseIterable {
    /// `.gz`
    case gzip
    /// `.bz2`
    case bzip2
    /// `.xz`
    case xz
    /// `.snappy`
    case snappy
    /// `.zst`
    case zstd
    /// `.lz4`
    case lz4

    /// The extension, with its dot.
    public var fileExtension: String {
        switch self {
        case .gzip: ".gz"
        case .bzip2: ".bz2"
        case .xz: ".xz"
        case .snappy: ".snappy"
        case .zstd: ".zst"
        case .lz4: ".lz4"
        }
    }

    /// The compression an extension (with its dot) names, if any.
    public init?(fileExtension: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.fileExtension == fileExtension }) else { return nil }
        self = match
    }
}

/// The compression of an object-store backup's tar archives (`.tar`, `.tar.gz`, `.tar.bz2`, `.tar.snappy`).
public enum TarCompression: String, Sendable, Hashable, CaseIterable {
    /// Plain `.tar`.
    case none
    /// `.tar.gz`
    case gzip
    /// `.tar.bz2`
    case bzip2
    /// `.tar.snappy`
    case snappy

    /// The archive's extension, with its dot.
    public var fileExtension: String {
        switch self {
        case .none: ".tar"
        case .gzip: ".tar.gz"
        case .bzip2: ".tar.bz2"
        case .snappy: ".tar.snappy"
        }
    }
}
