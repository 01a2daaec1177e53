/// S3's listing rules applied to a set of keys, for stores that have no listing of their own.
enum ListingGrouping {
    /// Keys under `prefix` sorted by their UTF-8 bytes; with a delimiter, every key whose rest
    /// (after the prefix) contains it is folded into one common prefix ending at its first occurrence.
    static func group(_ objects: [ObjectInfo], prefix: String, delimiter: String?) -> ObjectListing {
        let matching = objects.filter { $0.key.hasPrefix(prefix) }.sorted { byteOrder($0.key, $1.key) }
        guard let delimiter, !delimiter.isEmpty else { return ObjectListing(objects: matching) }
        var listing = ObjectListing()
        var prefixes = Set<String>()
        for object in matching {
            let rest = object.key.dropFirst(prefix.count)
            if let range = rest.firstRange(of: delimiter) {
                prefixes.insert(prefix + rest[..<range.upperBound])
            } else {
                listing.objects.append(object)
            }
        }
        listing.commonPrefixes = prefixes.sorted(by: byteOrder)
        return listing
    }

    /// S3 orders keys by their UTF-8 bytes, not by Swift's Unicode-aware `<`.
    static func byteOrder(_ left: String, _ right: String) -> Bool {
        // Over the contiguous bytes: the generic `utf8` comparison costs a sort of a large listing several times as much.
        var (left, right) = (left, right)
        return left.withUTF8 { leftBytes in right.withUTF8 { leftBytes.lexicographicallyPrecedes($0) } }
    }
}
