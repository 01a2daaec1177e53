import CompressionCodecs
import Foundation
import Logging
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

@testable import AgentCore

/// The fetcher against a scripted controller and a real HTTP object store on 127.0.0.1.
@Suite("WALFetcher: recovery's WAL from object storage into pg_wal, the next segments fetched ahead")
struct WALFetcherTests {
    /// One fetcher under test, its data directory, object store and controller.
    final class Rig {
        let data: TemporaryDirectory
        let store: TestHTTPServer
        let controller: ScriptedController
        let fetcher: WALFetcher

        /// A fetcher for a server whose archive uses `compression`.
        init(compression: Compression = .none, transport: WALTransport = .direct) throws {
            data = try makeDataDirectory()
            store = try TestHTTPServer()
            controller = ScriptedController(store: store, compression: compression, transport: transport)
            fetcher = WALFetcher(controller: controller.asker, segmentSize: { 16 << 20 }, logger: quietLogger)
        }

        deinit { store.stop() }

        /// `pg_wal/RECOVERYXLOG`, where PostgreSQL's `restore_command` is asked to put a segment.
        var destination: String { data.file("pg_wal/RECOVERYXLOG") }

        /// The file names in `pg_wal`, hidden ones included, sorted (`archive_status` left out).
        func walDirectory() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: data.file("pg_wal"))) ?? []).filter { $0 != "archive_status" }.sorted()
        }

        /// The hidden name a prefetched `name` waits under.
        func spooled(_ name: String) -> String { ".snapfleet-prefetch-\(name)" }

        /// Archives segment `number` (`size` bytes of its own), stored with `compression` (the server's when nil).
        @discardableResult
        func archive(_ number: Int, size: Int = 64 << 10, as compression: Compression? = nil) throws -> [UInt8] {
            let bytes = pseudoRandomBytes(size, seed: UInt64(number))
            let key = controller.key(segment(number), compression)
            try store.putObject(key, try (compression ?? Compression.of(key: key) ?? .none).compress(bytes))
            return bytes
        }

        /// The bytes of `pg_wal/<name>`.
        func read(_ name: String) -> [UInt8]? {
            (try? Data(contentsOf: URL(fileURLWithPath: data.file("pg_wal/\(name)")))).map { Array($0) }
        }

        /// The GETs the object store received for `name` stored with the server's compression.
        func gets(_ name: String) -> [TestHTTPServer.Request] { store.requests("GET", store.objectPath(controller.key(name))) }

        /// Waits until the object store has answered the prefetch after segment `number` for all 8
        /// following segments: a 2xx or an error, or a 404 for every candidate key.
        func prefetchSettled(after number: Int) -> Bool {
            eventually {
                ((number + 1)...(number + 8)).allSatisfy { following in
                    let answered = store.requests.filter { $0.method == "GET" && $0.path.contains(segment(following)) }.compactMap(\.status)
                    return answered.contains { $0 != 404 } || answered.count == Compression.allCases.count
                }
            }
        }

        /// The inode of `path`: equal before and after a rename, different for a copy.
        func inode(_ path: String) -> UInt64? {
            var info = stat()
            return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
        }
    }

    @Test("a fetch writes the segment, decompressed, at the destination in pg_wal, and nothing else is left", arguments: Compression.allCases)
    func fetchDelivers(compression: Compression) throws {
        let rig = try Rig(compression: compression)
        let bytes = try rig.archive(1)
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == bytes)
        #expect(rig.controller.urlRequests.first == .init(purpose: .restore, names: [segment(1)]))
        #expect(rig.gets(segment(1)).count == 1, "the server's own compression is tried first")
        #expect(rig.prefetchSettled(after: 1))
        #expect(rig.walDirectory() == ["RECOVERYXLOG"], "segments the archive does not have leave nothing behind")
    }

    @Test("each candidate key is tried in turn: a segment archived with another compression is still found")
    func candidatesInTurn() throws {
        let rig = try Rig(compression: .zstd)
        let bytes = try rig.archive(1, as: .gzip)
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == bytes)
        let tried = rig.store.requests.filter { $0.method == "GET" && $0.path.contains(segment(1)) }
        let plain = rig.controller.key(segment(1), Compression.none)
        #expect(tried.map(\.path) == [plain + ".zst", plain, plain + ".gz"].map(rig.store.objectPath), "the server's compression first")
        #expect(tried.map(\.status) == [404, 404, 200])
    }

    @Test("a segment the archive does not have (404 for every candidate) is notFound, and nothing is written")
    func notFound() throws {
        let rig = try Rig(compression: .zstd)
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .notFound)
        #expect(rig.store.requests.filter { $0.method == "GET" }.map(\.status) == [404, 404, 404])
        #expect(rig.walDirectory().isEmpty)
    }

    @Test("without a destination in a pg_wal, the bytes are returned and nothing is written")
    func bytesWithoutDestination() throws {
        let rig = try Rig(compression: .gzip)
        let bytes = try rig.archive(1)
        let elsewhere = try TemporaryDirectory(prefix: "not-pgdata")
        #expect(try rig.fetcher.fetch(segment(1), destination: elsewhere.file("RECOVERYXLOG")) == .bytes(bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
        #expect(rig.walDirectory().isEmpty)
    }

    @Test("a download cut off mid-body on every attempt fails retryably and leaves no partial file; the next call delivers it whole")
    func truncatedDownload() throws {
        let rig = try Rig()
        let bytes = try rig.archive(1, size: 1 << 20)
        try rig.store.inject(
            .truncate, method: "GET", pathPrefix: rig.store.objectPath(rig.controller.key(segment(1))), times: WALFetcher.downloadAttempts)
        let error = try #require(throws: SnapfleetError.self) { try rig.fetcher.fetch(segment(1), destination: rig.destination) }
        #expect(error.retryable)
        #expect(rig.walDirectory().isEmpty, "no destination, temporary or spooled file")
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == bytes)
    }

    @Test("a 5xx that outlasts every attempt fails the fetch retryably, leaving nothing; the next call delivers")
    func serverErrorOnOwnDownload() throws {
        let rig = try Rig()
        let bytes = try rig.archive(1)
        try rig.store.inject(.status(503), method: "GET", times: WALFetcher.downloadAttempts)
        let error = try #require(throws: SnapfleetError.self) { try rig.fetcher.fetch(segment(1), destination: rig.destination) }
        #expect(error.code == .httpError)
        #expect(error.retryable)
        #expect(error.message.contains("HTTP 503"))
        #expect(rig.gets(segment(1)).count == WALFetcher.downloadAttempts)
        #expect(rig.walDirectory().isEmpty)
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == bytes)
    }

    @Test("a transient 5xx on the call's own download is retried before the fetch gives up")
    func serverErrorIsRetried() throws {
        let rig = try Rig()
        let bytes = try rig.archive(1)
        try rig.store.inject(.status(503), method: "GET", times: 1)
        // wal-fetch turns an error into exit status 3, and PostgreSQL takes any exit below 126 for
        // "not in the archive": in archive recovery one 503 from the object store would end recovery early.
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == bytes)
        #expect(rig.gets(segment(1)).count == 2, "the 503, then the download that worked")
    }

    @Test("after a fetch the next segments are spooled into pg_wal; the next fetch is a rename of one, with no second GET")
    func prefetchIntoPgWal() throws {
        let rig = try Rig(compression: .zstd)
        let archived = try (1...5).map { try rig.archive($0) }
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(eventually { rig.controller.urlRequests.count == 2 })
        #expect(rig.controller.urlRequests.last == .init(purpose: .restore, names: (2...9).map { segment($0) }), "the next 8, in one request")
        #expect(eventually { (2...5).allSatisfy { rig.read(rig.spooled(segment($0))) != nil } })
        for number in 2...5 { #expect(rig.read(rig.spooled(segment(number))) == archived[Int(number) - 1]) }
        #expect(rig.prefetchSettled(after: 1))
        let spooledInode = try #require(rig.inode(rig.data.file("pg_wal/\(rig.spooled(segment(2)))")))

        #expect(try rig.fetcher.fetch(segment(2), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == archived[1])
        #expect(rig.inode(rig.destination) == spooledInode, "renamed into place, not copied")
        #expect(rig.read(rig.spooled(segment(2))) == nil)
        #expect(rig.gets(segment(2)).count == 1, "served from the prefetch")
        #expect(eventually { rig.controller.urlRequests.count == 3 })
        let next = try #require(rig.controller.urlRequests.last)
        #expect(next.purpose == .restore)
        #expect(next.names.contains(segment(10)))
        #expect(Set(next.names).isSubset(of: (6...10).map { segment($0) }), "what is spooled is not asked for again")
    }

    @Test("a fetch of a segment still being prefetched waits for that download instead of starting another")
    func waitsForRunningPrefetch() throws {
        let rig = try Rig()
        try rig.archive(1)
        let second = try rig.archive(2)
        try rig.store.inject(.delay(.milliseconds(500)), method: "GET", pathPrefix: rig.store.objectPath(rig.controller.key(segment(2))))
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(try rig.fetcher.fetch(segment(2), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == second)
        #expect(rig.gets(segment(2)).count == 1)
        #expect(rig.gets(segment(2)).first?.fault == "delay", "the prefetch's download, the delayed one")
    }

    @Test("a prefetch that met a 5xx is downloaded again by the call that needs it")
    func failedPrefetchRefetched() throws {
        let rig = try Rig()
        try rig.archive(1)
        let second = try rig.archive(2)
        try rig.store.inject(.status(500), method: "GET", pathPrefix: rig.store.objectPath(rig.controller.key(segment(2))))
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(eventually { rig.gets(segment(2)).map(\.status) == [500] })
        #expect(rig.prefetchSettled(after: 1))
        #expect(rig.read(rig.spooled(segment(2))) == nil)
        #expect(try rig.fetcher.fetch(segment(2), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == second)
        #expect(rig.gets(segment(2)).map(\.status) == [500, 200])
    }

    @Test("before any destination in pg_wal, prefetched segments wait in memory and are returned as bytes")
    func prefetchInMemory() throws {
        let rig = try Rig(compression: .gzip)
        let first = try rig.archive(1)
        let second = try rig.archive(2)
        #expect(try rig.fetcher.fetch(segment(1)) == .bytes(first))
        #expect(eventually { rig.gets(segment(2)).count == 1 })
        #expect(rig.prefetchSettled(after: 1))
        #expect(try rig.fetcher.fetch(segment(2)) == .bytes(second))
        #expect(rig.gets(segment(2)).count == 1, "served from memory")
        #expect(rig.walDirectory().isEmpty)
    }

    @Test("a spooled segment asked for without a pg_wal destination is returned as bytes and its file removed")
    func spooledAsBytes() throws {
        let rig = try Rig()
        try rig.archive(1)
        let second = try rig.archive(2)
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(eventually { rig.read(rig.spooled(segment(2))) != nil })
        #expect(try rig.fetcher.fetch(segment(2)) == .bytes(second))
        #expect(rig.read(rig.spooled(segment(2))) == nil)
        #expect(rig.gets(segment(2)).count == 1)
    }

    @Test("segments recovery went past (a jump, a timeline switch) are removed from pg_wal at the next fetch")
    func passedSegmentsRemoved() throws {
        let rig = try Rig()
        for number in 1...9 { try rig.archive(number) }
        let far = try rig.archive(20)
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(eventually { (2...9).allSatisfy { rig.read(rig.spooled(segment($0))) != nil } })
        #expect(try rig.fetcher.fetch(segment(20), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == far)
        #expect(rig.walDirectory() == ["RECOVERYXLOG"], "segments 2 to 9 are gone")
    }

    @Test("at the end of the archive (notFound) every spooled segment is removed")
    func endOfArchiveRemovesSpool() throws {
        let rig = try Rig()
        for number in 1...4 { try rig.archive(number) }
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(eventually { (2...4).allSatisfy { rig.read(rig.spooled(segment($0))) != nil } })
        #expect(rig.prefetchSettled(after: 1))
        // Recovery's last question: is there a history file for a new timeline?
        #expect(try rig.fetcher.fetch("00000002.history", destination: rig.data.file("pg_wal/RECOVERYHISTORY")) == .notFound)
        #expect(rig.walDirectory() == ["RECOVERYXLOG"])
    }

    @Test("a prefetch still running when the archive ends leaves no spooled segment behind")
    func endOfArchiveDuringPrefetch() throws {
        let rig = try Rig()
        try rig.archive(1)
        try rig.archive(2)
        try rig.store.inject(.delay(.milliseconds(800)), method: "GET", pathPrefix: rig.store.objectPath(rig.controller.key(segment(2))))
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        // The recovery target was reached in segment 1: PostgreSQL asks for a new timeline's history next.
        #expect(try rig.fetcher.fetch("00000002.history", destination: rig.data.file("pg_wal/RECOVERYHISTORY")) == .notFound)
        #expect(eventually { rig.gets(segment(2)).count == 1 })
        #expect(!eventually(timeout: .seconds(1)) { rig.read(rig.spooled(segment(2))) != nil }, "\(rig.walDirectory())")
    }

    @Test("a file:// archive: the controller sends the bytes (wal_get), which are decompressed into pg_wal")
    func viaController() throws {
        let rig = try Rig(compression: .gzip, transport: .controller)
        let bytes = pseudoRandomBytes(64 << 10, seed: 1)
        rig.controller.hold(segment(1), try Compression.gzip.compress(bytes))
        #expect(try rig.fetcher.fetch(segment(1), destination: rig.destination) == .delivered)
        #expect(rig.read("RECOVERYXLOG") == bytes)
        #expect(try rig.fetcher.fetch(segment(7), destination: rig.data.file("pg_wal/RECOVERYXLOG.2")) == .notFound)
        #expect(rig.read("RECOVERYXLOG.2") == nil)
        #expect(rig.controller.gets.prefix(1) == [segment(1)])
        #expect(rig.controller.gets.contains(segment(7)))
        #expect(rig.store.requests.isEmpty)
    }

    @Test("the controller unreachable fails the fetch retryably and writes nothing")
    func controllerUnreachable() throws {
        let rig = try Rig()
        try rig.archive(1)
        rig.controller.setUnreachable(true)
        let error = try #require(throws: SnapfleetError.self) { try rig.fetcher.fetch(segment(1), destination: rig.destination) }
        #expect(error.code == .agentNotConnected)
        #expect(error.retryable)
        #expect(rig.store.requests.isEmpty)
        #expect(rig.walDirectory().isEmpty)
    }
}
