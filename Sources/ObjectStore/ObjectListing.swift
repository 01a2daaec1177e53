/// The result of a listing: objects, and the key prefixes grouped by the delimiter.
public struct ObjectListing: Sendable, Equatable {
    /// The objects, sorted by key (byte order, as S3 sorts).
    public var objects: [ObjectInfo]
    /// Prefixes ending in the delimiter, sorted, each standing for every key below it.
    public var commonPrefixes: [String]

    /// Creates a listing.
    public init(objects: [ObjectInfo] = [], commonPrefixes: [String] = []) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
    }

    /// The keys of `objects`, in order.
    public var keys: [String] { objects.map(\.key) }
}
