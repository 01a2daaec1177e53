import AWSSigning
import Foundation
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

@Suite("ObjectCache: local copies used only while the listing shows the object unchanged")
struct ObjectCacheTests {
    let root: TemporaryDirectory
    let cache: ObjectCache
    let fetches = Counter()
    static let listed = ObjectInfo(key: "pg1/base/20251101T000000/backup.info", size: 5, etag: "abc", lastModified: Date(timeIntervalSince1970: 1000))

    init() throws {
        root = try TemporaryDirectory(prefix: "object-cache")
        cache = ObjectCache(root: root.path, identity: "s3://bucket/catalog pg1")
    }

    /// `cache.bytes(of:)` with a fetch that counts its calls and answers `body`.
    func read(_ object: ObjectInfo = listed, body: String = "hello") throws -> String {
        let bytes = try cache.bytes(of: object) { () throws(SnapfleetError) -> [UInt8] in
            fetches.count += 1
            return Array(body.utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    var fetchCount: Int { fetches.count }

    /// How many times the object store was asked.
    final class Counter { var count = 0 }

    /// The one copy in the cache's directory.
    func copyPath() throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.directory)
        #expect(names.count == 1)
        return cache.directory + "/" + names[0]
    }

    @Test("an object listed the same way twice is fetched once")
    func hit() throws {
        #expect(try read() == "hello")
        #expect(try read(body: "never fetched") == "hello")
        #expect(fetchCount == 1)
    }

    @Test("a new entity tag, size or modification time in the listing fetches the object again")
    func changed() throws {
        _ = try read()
        var retagged = Self.listed
        retagged.etag = "def"
        #expect(try read(retagged, body: "fresh") == "fresh")
        var resized = retagged
        resized.size = 6
        #expect(try read(resized, body: "longer") == "longer")
        var rewritten = resized
        rewritten.lastModified = Date(timeIntervalSince1970: 2000)
        #expect(try read(rewritten, body: "again!") == "again!")
        #expect(fetchCount == 4)
    }

    @Test("an object listed without an entity tag is always fetched and never kept")
    func noEntityTag() throws {
        var untagged = Self.listed
        untagged.etag = nil
        _ = try read(untagged)
        _ = try read(untagged)
        #expect(fetchCount == 2)
        #expect(!FileManager.default.fileExists(atPath: cache.directory))
    }

    @Test("a copy cut short or overwritten with junk is not used")
    func damagedCopy() throws {
        _ = try read()
        let path = try copyPath()
        let copy = try #require(FileManager.default.contents(atPath: path))
        try copy.dropLast().write(to: URL(fileURLWithPath: path))
        #expect(try read(body: "hello") == "hello")
        try Data("snapfleet-cache 1 5 junk abc\nHELLO".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try read(body: "hello") == "hello")
        #expect(fetchCount == 3)
    }

    @Test("bytes of another length than listed (rewritten between listing and read) are returned but not kept")
    func racedRead() throws {
        #expect(try read(body: "rewritten") == "rewritten")
        #expect(try read(body: "hello") == "hello")
        #expect(fetchCount == 2)
    }

    @Test("retainOnly drops the copies of keys no longer listed")
    func retainOnly() throws {
        var other = Self.listed
        other.key = "pg1/base/20251102T000000/backup.info"
        _ = try read()
        _ = try read(other)
        cache.retainOnly([other.key])
        #expect(try read(body: "hello") == "hello")
        #expect(fetchCount == 3, "the dropped copy was fetched again")
        _ = try read(other)
        #expect(fetchCount == 3, "the retained copy was still used")
    }

    @Test("a cache directory that cannot be written only makes reads slower")
    func unwritable() throws {
        let blocked = ObjectCache(root: root.file("a-file"), identity: "x")
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: root.file("a-file")))
        let bytes = try blocked.bytes(of: Self.listed) { () throws(SnapfleetError) -> [UInt8] in Array("hello".utf8) }
        #expect(bytes == Array("hello".utf8))
    }

    @Test("two stores get two directories")
    func identities() {
        #expect(ObjectCache(root: "/c", identity: "s3://a pg1").directory != ObjectCache(root: "/c", identity: "s3://b pg1").directory)
    }
}

@Suite(
    "ObjectCache against S3 listings in moto: a rewritten object's new entity tag is seen",
    .requires(MotoServer.isAvailable, Comment(rawValue: MotoServer.requirement)))
struct ObjectCacheS3Tests {
    @Test("after a rewrite, the next listing's entity tag makes the cache fetch the new bytes")
    func rewrite() throws {
        let proxy = try SigningProxy()
        try proxy.boto3("s3.create_bucket(Bucket='cached')")
        let credentials = AWSCredentials(accessKeyID: SigningProxy.accessKeyID, secretAccessKey: Redacted(SigningProxy.secretAccessKey))
        let store = try S3ObjectStore(bucket: "cached", region: "us-east-1", endpoint: proxy.endpoint, credentials: credentials)
        let root = try TemporaryDirectory(prefix: "object-cache-s3")
        let cache = ObjectCache(root: root.path, identity: "s3://cached")
        let key = "pg1/base/20251101T000000/backup.info"
        func listedRead() throws -> String {
            let listed = try #require(try store.list(prefix: "pg1/base/").objects.first)
            return String(decoding: try cache.bytes(of: listed) { () throws(SnapfleetError) in try store.get(key) }, as: UTF8.self)
        }
        try store.put(key, body: .bytes(Array("status=STARTED\n".utf8)))
        #expect(try listedRead() == "status=STARTED\n")
        try store.put(key, body: .bytes(Array("status=DONE\n\n\n\n".utf8)))
        #expect(try listedRead() == "status=DONE\n\n\n\n", "same length, new content: the entity tag tells")
        try store.delete(key)
        try store.put(key, body: .bytes(Array("status=DONE\n\n\n\n".utf8)))
        #expect(try listedRead() == "status=DONE\n\n\n\n")
    }
}
