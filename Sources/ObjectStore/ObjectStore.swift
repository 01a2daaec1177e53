import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Blocking access to a bucket-like store of objects addressed by key (`file://` or S3).
///
/// Keys are `/`-separated paths relative to the store's root (`base/20260101T000000/backup.info`).
/// Every call may be made from any thread.
public protocol ObjectStore: Sendable {
    /// Stores `body` under `key`; with `ifAbsent`, fails with `.alreadyExists` rather than overwrite.
    func put(_ key: String, body: ObjectBody, ifAbsent: Bool) throws(SnapfleetError)
    /// The whole object in memory; `.notFound` if there is none.
    func get(_ key: String) throws(SnapfleetError) -> [UInt8]
    /// Writes the object to the file at `path` (replaced atomically); `.notFound` if there is none.
    func download(_ key: String, to path: String) throws(SnapfleetError)
    /// The object's size, entity tag and modification time, or nil if there is none.
    func head(_ key: String) throws(SnapfleetError) -> ObjectInfo?
    /// Every object under `prefix` (all pages), with keys grouped up to `delimiter` when given.
    func list(prefix: String, delimiter: String?) throws(SnapfleetError) -> ObjectListing
    /// Removes the object; a missing object is not an error.
    func delete(_ key: String) throws(SnapfleetError)
    /// Lists `prefix` one page at a time (S3: up to 1,000 entries a page), so that a listing of
    /// millions of keys is never held whole; `body` returns false to stop early.
    func forEachPage(prefix: String, delimiter: String?, _ body: (ObjectListing) throws(SnapfleetError) -> Bool) throws(SnapfleetError)
    /// Removes up to 1,000 objects at once (missing ones are not errors); the keys that could not
    /// be removed, each with why.
    func delete(keys: [String]) throws(SnapfleetError) -> [(key: String, reason: String)]
}

extension ObjectStore {
    /// Stores `body` under `key`, replacing any object there.
    public func put(_ key: String, body: ObjectBody) throws(SnapfleetError) {
        try put(key, body: body, ifAbsent: false)
    }

    /// One page: the whole listing (stores without pages of their own).
    public func forEachPage(prefix: String, delimiter: String?, _ body: (ObjectListing) throws(SnapfleetError) -> Bool) throws(SnapfleetError) {
        _ = try body(try list(prefix: prefix, delimiter: delimiter))
    }

    /// One DELETE a key.
    public func delete(keys: [String]) throws(SnapfleetError) -> [(key: String, reason: String)] {
        var failed: [(key: String, reason: String)] = []
        for key in keys {
            do { try delete(key) } catch { failed.append((key, error.message)) }
        }
        return failed
    }

    /// Every page of `forEachPage` gathered into one listing (stores that page call this from `list`).
    public func allPages(prefix: String, delimiter: String?) throws(SnapfleetError) -> ObjectListing {
        var listing = ObjectListing()
        try forEachPage(prefix: prefix, delimiter: delimiter) { page in
            listing.objects += page.objects
            listing.commonPrefixes += page.commonPrefixes
            return true
        }
        return listing
    }

    /// Writes `path` through a temporary file beside it, renamed into place once `fetch` filled it:
    /// a reader never sees half an object, and a failed fetch leaves nothing behind.
    public func downloadAtomically(to path: String, _ fetch: (String) throws(SnapfleetError) -> Void) throws(SnapfleetError) {
        let temporary = path + ".snapfleet-download-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do throws(SnapfleetError) {
            try fetch(temporary)
            try PosixFiles.rename(temporary, to: path)
        } catch {
            _ = try? PosixFiles.remove(temporary)
            throw error
        }
    }

    /// Every object under `prefix`, without grouping.
    public func list(prefix: String) throws(SnapfleetError) -> ObjectListing {
        try list(prefix: prefix, delimiter: nil)
    }
}

/// A store that can hand out one-object URLs: what an agent gets for each WAL file, so that WAL
/// goes straight to the store without the agent holding a credential.
public protocol PresigningObjectStore: ObjectStore {
    /// Headers a PUT URL is signed with so that it can create its object but never replace one.
    var createOnlyHeaders: [(String, String)] { get }
    /// A URL that lets its holder do `method` on `key`, and nothing else, for `expires` seconds
    /// from `date`; `headers` are signed and must be sent as given.
    func presignedURL(key: String, method: String, headers: [(String, String)], expires: Int, date: Date) throws(SnapfleetError) -> String
}
