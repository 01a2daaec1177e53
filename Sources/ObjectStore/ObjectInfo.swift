#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a store knows about one object without reading it.
public struct ObjectInfo: Sendable, Equatable {
    /// The key, relative to the store's root.
    public var key: String
    /// The size in bytes.
    public var size: Int64
    /// The entity tag without quotes (S3's MD5 or multipart tag); nil where the store has none (file://).
    public var etag: String?
    /// When the object was last written, if the store says.
    public var lastModified: Date?

    /// Creates a description of an object.
    public init(key: String, size: Int64, etag: String? = nil, lastModified: Date? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}
