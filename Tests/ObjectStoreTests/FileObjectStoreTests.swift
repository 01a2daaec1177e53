import Foundation
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

@Suite("FileObjectStore: keys as files below a root directory")
struct FileObjectStoreTests {
    let directory: TemporaryDirectory
    let store: FileObjectStore

    init() throws {
        directory = try TemporaryDirectory(prefix: "objectstore")
        store = try FileObjectStore(root: directory.file("root"))
    }

    @Test("bytes written under a nested key read back equal, with head giving the size")
    func roundTrip() throws {
        try store.put("base/b1/backup.info", body: .bytes(Array("hello".utf8)))
        #expect(try store.get("base/b1/backup.info") == Array("hello".utf8))
        let info = try #require(try store.head("base/b1/backup.info"))
        #expect(info.size == 5)
        #expect(info.lastModified != nil)
        #expect(try store.head("base/b1/missing") == nil)
    }

    @Test("a file body is copied and download writes the object to a file")
    func fileBodyAndDownload() throws {
        let source = directory.file("source")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        try store.put("wal/000000010000000000000001", body: .file(path: source))
        let target = directory.file("copy")
        try store.download("wal/000000010000000000000001", to: target)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(bytes))
    }

    @Test("a missing object is not_found for get and download")
    func missing() {
        let error = thrownError { _ = try store.get("nope/x") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("'nope/x' does not exist") == true)
        #expect(thrownError { try store.download("nope/x", to: directory.file("y")) }?.code == .notFound)
    }

    @Test("put replaces an object unless ifAbsent, which refuses with already_exists and keeps the first")
    func ifAbsent() throws {
        try store.put("a/k", body: .bytes([1]), ifAbsent: true)
        let error = thrownError { try store.put("a/k", body: .bytes([2]), ifAbsent: true) }
        #expect(error?.code == .alreadyExists)
        #expect(error?.message.contains("already exists") == true)
        #expect(try store.get("a/k") == [1])
        try store.put("a/k", body: .bytes([3]))
        #expect(try store.get("a/k") == [3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("root/a")) == ["k"])
    }

    @Test(
        "keys that could leave the root are refused",
        arguments: ["../escape", "a/../../escape", "/etc/passwd", "a//b", "a/", "", "a/./b", "a\0b", "..", "a/.snapfleet-tmp-1"])
    func escapes(key: String) {
        let error = thrownError { try store.put(key, body: .bytes([0])) }
        #expect(error?.code == .ioError)
        #expect(error?.message.hasPrefix("invalid object key") == true)
        #expect(thrownError { _ = try store.get(key) }?.code == .ioError)
        #expect(thrownError { try store.delete(key) }?.code == .ioError)
        #expect(!FileManager.default.fileExists(atPath: directory.file("escape")))
    }

    @Test("listing without a delimiter returns every key under the prefix in byte order")
    func listFlat() throws {
        for key in ["b/2", "a/1", "a/sub/3", "a/sub/deeper/4", "ab", "Z"] { try store.put(key, body: .bytes([1, 2])) }
        #expect(try store.list(prefix: "a").keys == ["a/1", "a/sub/3", "a/sub/deeper/4", "ab"])
        #expect(try store.list(prefix: "").keys == ["Z", "a/1", "a/sub/3", "a/sub/deeper/4", "ab", "b/2"])
        #expect(try store.list(prefix: "a/sub/d").objects.map(\.size) == [2])
        #expect(try store.list(prefix: "nothing/").objects.isEmpty)
    }

    @Test("listing with a delimiter groups deeper keys into common prefixes, as S3 does")
    func listDelimited() throws {
        for key in ["base/b1/backup.info", "base/b1/data.tar", "base/b2/backup.info", "base/top", "wal/1"] {
            try store.put(key, body: .bytes([0]))
        }
        let root = try store.list(prefix: "", delimiter: "/")
        #expect(root.keys.isEmpty)
        #expect(root.commonPrefixes == ["base/", "wal/"])
        let base = try store.list(prefix: "base/", delimiter: "/")
        #expect(base.keys == ["base/top"])
        #expect(base.commonPrefixes == ["base/b1/", "base/b2/"])
        let partial = try store.list(prefix: "base/b", delimiter: "/")
        #expect(partial.commonPrefixes == ["base/b1/", "base/b2/"])
    }

    @Test("deleting removes the object and a missing key is success")
    func delete() throws {
        try store.put("x/y", body: .bytes([9]))
        try store.delete("x/y")
        #expect(try store.head("x/y") == nil)
        try store.delete("x/y")
        try store.delete("never/there")
    }

    @Test("a relative root is refused")
    func relativeRoot() {
        #expect(throws: SnapfleetError.self) { try FileObjectStore(root: "relative/dir") }
    }
}
