import Digests
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Local copies of a store's small objects (a catalog's `backup.info` files and records), each
/// used only while a listing shows the object unchanged: same entity tag, size and modification
/// time. Listing a catalog of thousands of backups then costs the object store its listing pages
/// alone, not one GET a backup.
///
/// The cache is an optimisation and never a source of truth: an object the listing shows without
/// an entity tag is always fetched, a copy that does not match its header is fetched again, and a
/// cache that cannot be read or written only makes reads slower. Copies are written to a temporary
/// file and renamed, so several processes can share one directory.
public struct ObjectCache: Sendable {
    /// This store's own directory (one per store and prefix, under the configured root).
    public let directory: String

    /// The cache of the store named `identity` (its URL, endpoint included) under `root`.
    public init(root: String, identity: String) {
        directory = root + "/" + Self.fileName(identity)
    }

    /// The object's bytes: the local copy when it matches `object` as listed, otherwise `fetch()`,
    /// which is then kept for the next time.
    public func bytes(of object: ObjectInfo, fetch: () throws(SnapfleetError) -> [UInt8]) throws(SnapfleetError) -> [UInt8] {
        guard let header = Self.header(of: object) else { return try fetch() }
        let path = self.path(of: object.key)
        if let copy = try? PosixFiles.readAll(path), let body = Self.body(of: copy, header: header, size: object.size) { return body }
        let bytes = try fetch()
        // A read that raced with a rewrite of the object keeps nothing: the header would not describe it.
        if Int64(bytes.count) == object.size { store(header + bytes, at: path) }
        return bytes
    }

    /// Removes the copies of every key not in `keys` (after a listing found the store's whole set).
    public func retainOnly(_ keys: some Sequence<String>) {
        let wanted = Set(keys.map(Self.fileName))
        guard let names = try? PosixFiles.entries(of: directory) else { return }
        for name in names where !wanted.contains(name) { _ = try? PosixFiles.remove(directory + "/" + name) }
    }

    /// The first line of a copy: what the listing must still say for the copy to be used.
    static func header(of object: ObjectInfo) -> [UInt8]? {
        guard let etag = object.etag, !etag.isEmpty, !etag.contains("\n") else { return nil }
        let modified = object.lastModified.map { String($0.timeIntervalSince1970) } ?? "-"
        return Array("snapfleet-cache 1 \(object.size) \(modified) \(etag)\n".utf8)
    }

    /// The copy's body if it starts with `header` and the rest is `size` bytes long (not cut short).
    static func body(of copy: [UInt8], header: [UInt8], size: Int64) -> [UInt8]? {
        guard Int64(copy.count - header.count) == size, copy[..<header.count].elementsEqual(header) else { return nil }
        return Array(copy[header.count...])
    }

    private func path(of key: String) -> String { directory + "/" + Self.fileName(key) }

    /// Keys (and store identities) become fixed-length names: any key fits a file name, and none can climb out of the directory.
    private static func fileName(_ key: String) -> String { (try? SHA256.hash(key).hex) ?? "unhashable" }

    /// Writes a copy, best effort (an unwritable cache is a slower one).
    private func store(_ copy: [UInt8], at path: String) {
        let temporary = path + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        do throws(SnapfleetError) {
            try PosixFiles.makeDirectories(directory)
            let fd = try PosixFiles.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
            defer { close(fd) }
            try PosixFiles.writeAll(fd, copy, path: temporary)
            try PosixFiles.rename(temporary, to: path)
        } catch {
            _ = try? PosixFiles.remove(temporary)
        }
    }
}
