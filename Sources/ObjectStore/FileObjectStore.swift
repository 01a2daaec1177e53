import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An object store in a local (or mounted) directory: each key is a file below `root`.
///
/// Writes are crash-safe: a temporary file in the target's directory is written, fsynced and
/// renamed (or hard-linked, for `ifAbsent`) into place, then the directory is fsynced.
public struct FileObjectStore: ObjectStore {
    /// The absolute directory every key is relative to.
    public let root: String

    /// Names of files being written; never listed, and never valid as a key's last segment.
    static let temporaryPrefix = ".snapfleet-tmp-"

    /// A store below `root`, which must be an absolute path (it is created on the first write).
    public init(root: String) throws(SnapfleetError) {
        guard root.hasPrefix("/"), !root.utf8.contains(0) else {
            throw SnapfleetError(.invalidConfiguration, "file store root '\(ObjectKey.printable(root))' must be an absolute path")
        }
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// Writes the object through a temporary file; `ifAbsent` links it into place, which fails if the key exists.
    public func put(_ key: String, body: ObjectBody, ifAbsent: Bool) throws(SnapfleetError) {
        let target = try path(of: key)
        let directory = Self.parent(of: target)
        let temporary: String
        do {
            try PosixFiles.makeDirectories(directory)
            temporary = try writeTemporary(body, in: directory)
        } catch  where error.code == .notFound {
            // A delete emptied and removed the directory between the two steps: make it again.
            try PosixFiles.makeDirectories(directory)
            temporary = try writeTemporary(body, in: directory)
        }
        defer { _ = try? PosixFiles.remove(temporary) }
        if ifAbsent {
            // link(2) refuses an existing target atomically, where rename(2) would replace it.
            guard link(temporary, target) == 0 else {
                let failure = PosixFiles.failure("link", target)
                guard failure.code == .alreadyExists else { throw failure }
                throw SnapfleetError(.alreadyExists, "object '\(ObjectKey.printable(key))' already exists in \(root)")
            }
        } else {
            guard rename(temporary, target) == 0 else { throw PosixFiles.failure("rename", target) }
        }
        try PosixFiles.syncDirectory(directory)
    }

    /// Reads the whole file.
    public func get(_ key: String) throws(SnapfleetError) -> [UInt8] {
        let source = try existingFile(of: key)
        return try PosixFiles.readAll(source)
    }

    /// Copies the file to `path` through a temporary file next to it.
    public func download(_ key: String, to path: String) throws(SnapfleetError) {
        let source = try existingFile(of: key)
        let temporary = try writeTemporary(.file(path: source), in: Self.parent(of: path))
        guard rename(temporary, path) == 0 else {
            let failure = PosixFiles.failure("rename", path)
            _ = try? PosixFiles.remove(temporary)
            throw failure
        }
    }

    /// The file's size and modification time (file stores have no entity tag).
    public func head(_ key: String) throws(SnapfleetError) -> ObjectInfo? {
        guard let info = try PosixFiles.status(try path(of: key)), PosixFiles.isRegularFile(info) else { return nil }
        return Self.objectInfo(key: key, info)
    }

    /// Walks the directories the prefix can reach and groups the keys as S3 would.
    public func list(prefix: String, delimiter: String?) throws(SnapfleetError) -> ObjectListing {
        // Only the directory part of the prefix can be walked; the rest filters names.
        let directoryPart = prefix.lastIndex(of: "/").map { String(prefix[...$0]) } ?? ""
        // Grouped by "/", one directory level is all S3 would show: read just that one.
        if delimiter == "/" { return try listOneLevel(directoryKey: directoryPart, namePrefix: String(prefix.dropFirst(directoryPart.count))) }
        var objects: [ObjectInfo] = []
        try collect(directoryKey: directoryPart, into: &objects)
        return ListingGrouping.group(objects, prefix: prefix, delimiter: delimiter)
    }

    /// Removes the file, then its directories that became empty (an S3 prefix ends with its last
    /// key); a missing file is success.
    public func delete(_ key: String) throws(SnapfleetError) {
        let target = try path(of: key)
        guard try PosixFiles.remove(target) else { return }
        var directory = Self.parent(of: target)
        try PosixFiles.syncDirectory(directory)
        // rmdir(2) refuses a directory that is not empty: that ends the walk.
        while directory.count > root.count, directory.hasPrefix(root + "/"), rmdir(directory) == 0 {
            directory = Self.parent(of: directory)
        }
    }

    /// The entries of one directory as a listing grouped by "/": files as objects, directories as prefixes.
    private func listOneLevel(directoryKey: String, namePrefix: String) throws(SnapfleetError) -> ObjectListing {
        let directory = directoryKey.isEmpty ? root : root + "/" + directoryKey.dropLast()
        var listing = ObjectListing()
        for name in try PosixFiles.entries(of: directory) where name.hasPrefix(namePrefix) && !name.hasPrefix(Self.temporaryPrefix) {
            guard let info = try PosixFiles.status(directory + "/" + name) else { continue }
            if PosixFiles.isDirectory(info) {
                listing.commonPrefixes.append(directoryKey + name + "/")
            } else if PosixFiles.isRegularFile(info) {
                listing.objects.append(Self.objectInfo(key: directoryKey + name, info))
            }
        }
        listing.objects.sort { ListingGrouping.byteOrder($0.key, $1.key) }
        listing.commonPrefixes.sort(by: ListingGrouping.byteOrder)
        return listing
    }

    /// The file path of a key, after checking that the key cannot leave the root.
    func path(of key: String) throws(SnapfleetError) -> String {
        try ObjectKey.validate(key)
        let name = key.split(separator: "/").last ?? ""
        guard !name.hasPrefix(Self.temporaryPrefix) else {
            throw SnapfleetError(.ioError, "invalid object key '\(ObjectKey.printable(key))': the name is reserved for temporary files")
        }
        return root == "/" ? "/" + key : root + "/" + key
    }

    /// The path of an existing regular file for `key`, or `.notFound`.
    private func existingFile(of key: String) throws(SnapfleetError) -> String {
        let source = try path(of: key)
        guard let info = try PosixFiles.status(source), PosixFiles.isRegularFile(info) else {
            throw SnapfleetError(.notFound, "object '\(ObjectKey.printable(key))' does not exist in \(root)")
        }
        return source
    }

    /// Writes `body` to a new temporary file in `directory`, fsynced; returns its path.
    private func writeTemporary(_ body: ObjectBody, in directory: String) throws(SnapfleetError) -> String {
        let temporary = directory + "/" + Self.temporaryPrefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let fd = try PosixFiles.open(temporary, O_WRONLY | O_CREAT | O_EXCL)
        defer { close(fd) }
        do throws(SnapfleetError) {
            switch body {
            case .bytes(let bytes):
                try PosixFiles.writeAll(fd, bytes, path: temporary)
            case .file(let source):
                try PosixFiles.forEachChunk(of: source) { (chunk) throws(SnapfleetError) in
                    try PosixFiles.writeAll(fd, chunk, path: temporary)
                }
            }
            try PosixFiles.sync(fd, path: temporary)
        } catch {
            _ = try? PosixFiles.remove(temporary)
            throw error
        }
        return temporary
    }

    /// Adds every regular file below the directory of `directoryKey` (`""` or ending in `/`).
    private func collect(directoryKey: String, into objects: inout [ObjectInfo]) throws(SnapfleetError) {
        let directory = directoryKey.isEmpty ? root : root + "/" + directoryKey.dropLast()
        for name in try PosixFiles.entries(of: directory) where !name.hasPrefix(Self.temporaryPrefix) {
            let key = directoryKey + name
            // lstat-free on purpose: a symlink to a file inside the root is listed like the file.
            guard let info = try PosixFiles.status(directory + "/" + name) else { continue }
            if PosixFiles.isDirectory(info) {
                try collect(directoryKey: key + "/", into: &objects)
            } else if PosixFiles.isRegularFile(info) {
                objects.append(Self.objectInfo(key: key, info))
            }
        }
    }

    /// Size and modification time from `stat`.
    private static func objectInfo(key: String, _ info: stat) -> ObjectInfo {
        let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        return ObjectInfo(key: key, size: Int64(info.st_size), lastModified: modified)
    }

    /// The directory part of a path (`/a/b/c` → `/a/b`).
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
