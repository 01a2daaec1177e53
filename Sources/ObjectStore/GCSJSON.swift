import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Cloud Storage JSON API documents the store reads.
enum GCSJSON {
    /// An object resource (only what the store uses).
    struct Object: Decodable {
        var name: String
        /// A decimal string, as Google sends 64-bit numbers.
        var size: String?
        var etag: String?
        var updated: String?
        var md5Hash: String?

        /// The store's description of it.
        var info: ObjectInfo {
            ObjectInfo(key: name, size: Int64(size ?? "") ?? 0, etag: etag, lastModified: updated.flatMap { Timestamp.parse($0) })
        }
    }

    /// One page of `objects.list`.
    struct ListPage: Decodable {
        var items: [Object]?
        var prefixes: [String]?
        var nextPageToken: String?
    }

    /// Decodes `T`, or an error naming what was read.
    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8], what: String) throws(SnapfleetError) -> T {
        do { return try JSONDecoder().decode(type, from: Data(body)) } catch {
            throw SnapfleetError(.httpError, "\(what): the answer is not the expected json (\(error))")
        }
    }
}
