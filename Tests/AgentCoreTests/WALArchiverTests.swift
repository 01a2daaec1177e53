import CompressionCodecs
import Digests
import Foundation
import Logging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization
import TestSupport
import Testing

@testable import AgentCore

/// The archiver against a scripted controller and a real HTTP object store on 127.0.0.1.
@Suite("WALArchiver: WAL goes to object storage with the controller's URLs and counts only once stored")
struct WALArchiverTests {
    /// One archiver under test, its data directory, object store and controller; stopped when released.
    final class Rig {
        let data: TemporaryDirectory
        let store: TestHTTPServer
        let controller: ScriptedController
        let archiver: WALArchiver

        /// A started archiver with `concurrency` workers for a server archiving with `compression`.
        init(compression: Compression = .none, transport: WALTransport = .direct, concurrency: Int = 2) throws {
            data = try makeDataDirectory()
            store = try TestHTTPServer()
            controller = ScriptedController(store: store, compression: compression, transport: transport)
            let layout = WALArchiver.Layout(walDirectory: data.file("pg_wal"), segmentSize: 16 << 20)
            archiver = WALArchiver(
                layout: { layout }, capabilities: WALCapabilities(controller: controller.asker), controller: controller.asker,
                logger: quietLogger, concurrency: concurrency)
            archiver.start()
        }

        deinit {
            archiver.stop()
            store.stop()
        }

        /// `pg_wal/<name>`.
        func path(_ name: String) -> String { data.file("pg_wal/\(name)") }

        /// Writes WAL file `name` with `size` pseudo-random bytes of its own and returns them.
        @discardableResult
        func write(_ name: String, size: Int = 64 << 10) throws -> [UInt8] {
            let bytes = pseudoRandomBytes(size, seed: name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) })
            try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
            return bytes
        }

        /// Marks `name` `.ready` in `archive_status`, as PostgreSQL does once a segment is complete.
        func markReady(_ name: String) throws {
            try Data().write(to: URL(fileURLWithPath: data.file("pg_wal/archive_status/\(name).ready")))
        }

        /// Pushes `name` as `wal-push` does and waits for the answer; `during` runs inside the completion.
        func push(_ name: String, during: @escaping @Sendable () -> Void = {}) -> Result<WALStored, SnapfleetError>? {
            let done = DispatchSemaphore(value: 0)
            let result = Mutex<Result<WALStored, SnapfleetError>?>(nil)
            archiver.push(path: path(name)) { outcome in
                during()
                result.withLock { $0 = outcome }
                done.signal()
            }
            _ = done.wait(timeout: .now() + 20)
            return result.withLock { $0 }
        }

        /// The PUTs the object store received for `name`'s key.
        func puts(_ name: String) -> [TestHTTPServer.Request] { store.requests("PUT", store.objectPath(controller.key(name))) }
    }

    @Test("a pushed segment is PUT to its signed URL with its bytes, If-None-Match and Content-MD5, and acknowledged once stored")
    func pushStores() throws {
        let rig = try Rig()
        let bytes = try rig.write(segment(1))
        let key = rig.controller.key(segment(1))
        let storedAtAcknowledgement = Mutex<[UInt8]?>(nil)
        let store = rig.store
        let result = try #require(rig.push(segment(1)) { storedAtAcknowledgement.withLock { $0 = store.object(key) } }).get()
        #expect(result == WALStored(name: segment(1), key: key, alreadyArchived: false))
        #expect(storedAtAcknowledgement.withLock { $0 } == bytes, "the object was stored before the push was acknowledged")
        #expect(rig.store.object(key) == bytes)
        let put = try #require(rig.puts(segment(1)).first)
        #expect(rig.puts(segment(1)).count == 1)
        #expect(put.query == "sig=1", "the URL the controller signed, query and all")
        #expect(put.header("If-None-Match") == "*")
        #expect(put.header("Content-MD5") == Data(try MD5.hash(bytes).bytes).base64EncodedString())
        #expect(put.status == 200)
    }

    @Test("with compression the stored object is the compressed segment, and it decompresses to the original", arguments: [Compression.zstd, .gzip])
    func pushCompresses(compression: Compression) throws {
        let rig = try Rig(compression: compression)
        let bytes = try rig.write(segment(1), size: 256 << 10)
        // Compressible WAL: real segments are mostly zeros after their last record.
        let wal = bytes.prefix(64 << 10) + [UInt8](repeating: 0, count: 192 << 10)
        try Data(wal).write(to: URL(fileURLWithPath: rig.path(segment(1))))
        let key = rig.controller.key(segment(1))
        #expect(key.hasSuffix(compression.fileExtension))
        let result = try #require(rig.push(segment(1))).get()
        #expect(result.key == key)
        let stored = try #require(rig.store.object(key))
        #expect(stored.count < wal.count / 2)
        #expect(Array(stored.prefix(compression == .zstd ? 4 : 2)) == (compression == .zstd ? [0x28, 0xB5, 0x2F, 0xFD] : [0x1F, 0x8B]))
        #expect(try compression.decompress(stored) == Array(wal))
        #expect(rig.puts(segment(1)).first?.header("Content-MD5") == Data(try MD5.hash(stored).bytes).base64EncodedString())
    }

    @Test("a 5xx is retried with back-off and the push is acknowledged only after the PUT that succeeded")
    func retriesServerErrors() throws {
        let rig = try Rig()
        let bytes = try rig.write(segment(1))
        try rig.store.inject(.status(500), method: "PUT", times: 1)
        try rig.store.inject(.status(503), method: "PUT", times: 1)
        let store = rig.store
        let path = rig.store.objectPath(rig.controller.key(segment(1)))
        let putsAtAcknowledgement = Mutex<[Int?]>([])
        let result = try #require(rig.push(segment(1)) { putsAtAcknowledgement.withLock { $0 = store.requests("PUT", path).map(\.status) } })
        #expect(try result.get().alreadyArchived == false)
        #expect(putsAtAcknowledgement.withLock { $0 } == [500, 503, 200])
        #expect(rig.store.object(rig.controller.key(segment(1))) == bytes)
        #expect(rig.controller.urlRequests.count == 1, "a 5xx keeps the URL")
    }

    @Test("a PUT whose answer was lost is sent again, meets its own object (412), and is success as already archived")
    func lostAnswer() throws {
        let rig = try Rig()
        let bytes = try rig.write(segment(1))
        try rig.store.inject(.dropAnswer, method: "PUT", times: 1)
        let result = try #require(rig.push(segment(1))).get()
        #expect(result.alreadyArchived)
        #expect(rig.puts(segment(1)).map(\.status) == [nil, 412])
        #expect(rig.store.requests("HEAD", rig.store.objectPath(result.key)).count == 1, "the ETag is compared")
        #expect(rig.store.object(result.key) == bytes)
    }

    @Test("a 412 over the same bytes is success, already archived, and nothing is overwritten")
    func sameContentAlreadyThere() throws {
        let rig = try Rig(compression: .zstd)
        let bytes = try rig.write(segment(1))
        let key = rig.controller.key(segment(1))
        try rig.store.putObject(key, try Compression.zstd.compress(bytes))
        let result = try #require(rig.push(segment(1))).get()
        #expect(result == WALStored(name: segment(1), key: key, alreadyArchived: true))
        #expect(rig.puts(segment(1)).map(\.status) == [412])
        #expect(rig.store.requests("HEAD", rig.store.objectPath(key)).map(\.status) == [200])
        #expect(try Compression.zstd.decompress(try #require(rig.store.object(key))) == bytes)
    }

    @Test("a 412 over different bytes is a non-retryable alreadyExists error, at once, and the stored object is left alone")
    func differentContentAlreadyThere() throws {
        let rig = try Rig()
        try rig.write(segment(1))
        let key = rig.controller.key(segment(1))
        let other = Array("another server's WAL".utf8)
        try rig.store.putObject(key, other)
        let error = try #require(rig.push(segment(1))?.failureValue)
        #expect(error.code == .alreadyExists)
        #expect(!error.retryable)
        #expect(error.message.contains("already holds a different \(segment(1)) at \(key)"))
        #expect(error.hint?.contains("new timeline") == true)
        #expect(rig.puts(segment(1)).count == 1, "a conflict is not retried")
        #expect(rig.store.object(key) == other)
    }

    @Test("URLs are asked for 64 names at once and reused for the next segments; when half are used, the next ones are asked for")
    func lookAhead() throws {
        let rig = try Rig()
        for number in 1...33 { try rig.write(segment(number), size: 4096) }
        #expect(try rig.push(segment(1))?.get() != nil)
        #expect(rig.controller.urlRequests == [.init(purpose: .archive, names: (1...64).map { segment($0) })])
        for number in 2...32 { #expect(try rig.push(segment(number))?.get() != nil) }
        #expect(rig.controller.urlRequests.count == 1, "31 more segments on the URLs in hand")
        #expect(rig.puts(segment(32)).map(\.query) == ["sig=1"])
        #expect(try rig.push(segment(33))?.get() != nil)
        #expect(rig.controller.urlRequests.count == 2)
        #expect(rig.controller.urlRequests.last == .init(purpose: .archive, names: (65...97).map { segment($0) }), "only the missing ones")
        #expect(rig.store.objectKeys() == (1...33).map { rig.controller.key(segment($0)) }.sorted())
    }

    @Test("URLs that expire within a minute are never used: the push fails without a PUT")
    func expiringURLs() throws {
        let rig = try Rig()
        rig.controller.setLifetime(30)  // the real controller signs for 600 s at least
        try rig.write(segment(1))
        let error = try #require(rig.push(segment(1))?.failureValue)
        #expect(error.code == .unexpectedMessage)
        #expect(error.message == "the controller sent no URLs for \(segment(1))")
        #expect(rig.controller.urlRequests.count == 1)
        #expect(rig.store.requests.isEmpty)
    }

    @Test("a 403 (an expired or refused URL) drops the URL: a fresh one is asked for and used")
    func refusedURL() throws {
        let rig = try Rig()
        let bytes = try rig.write(segment(1))
        try rig.store.inject(.status(403), method: "PUT", times: 1)
        #expect(try rig.push(segment(1))?.get().alreadyArchived == false)
        #expect(rig.puts(segment(1)).map { "\($0.query) \($0.status ?? 0)" } == ["sig=1 403", "sig=2 200"])
        #expect(rig.controller.urlRequests.count == 2)
        #expect(rig.controller.urlRequests.last?.names.first == segment(1))
        #expect(rig.store.object(rig.controller.key(segment(1))) == bytes)
    }

    @Test("with the controller unreachable the push fails retryably, nothing is stored, and a later push archives it")
    func controllerUnreachable() throws {
        let rig = try Rig()
        let bytes = try rig.write(segment(1))
        rig.controller.setUnreachable(true)
        let error = try #require(rig.push(segment(1))?.failureValue)
        #expect(error.code == .agentNotConnected)
        #expect(error.retryable)
        #expect(rig.store.requests.isEmpty)
        #expect(rig.store.objectKeys().isEmpty)

        rig.controller.setUnreachable(false)
        let stored = try #require(rig.push(segment(1))).get()
        #expect(!stored.alreadyArchived, "the failed push was not remembered as stored")
        #expect(rig.store.object(stored.key) == bytes)
    }

    @Test("a controller error reply fails the push with its code")
    func controllerRefuses() throws {
        let rig = try Rig()
        try rig.write(segment(1))
        rig.controller.failNext(SnapfleetError(.unknownServer, "no such server"))
        let error = try #require(rig.push(segment(1))?.failureValue)
        #expect(error.code == .unknownServer)
        #expect(rig.store.requests.isEmpty)
    }

    @Test(".ready files are uploaded ahead of PostgreSQL's calls, in parallel; a push of one is answered without another PUT")
    func scanReadyUploadsAhead() throws {
        let rig = try Rig(concurrency: 4)
        var written: [String: [UInt8]] = [:]
        for number in 1...4 {
            written[segment(number)] = try rig.write(segment(number))
            try rig.markReady(segment(number))
        }
        try rig.write(segment(5))  // not .ready yet: PostgreSQL is still writing it
        try Data().write(to: URL(fileURLWithPath: rig.data.file("pg_wal/archive_status/\(segment(0)).done")))
        try rig.store.inject(.delay(.milliseconds(400)), method: "PUT", times: nil)
        rig.archiver.scanReady()
        #expect(eventually { rig.store.objectKeys().count == 4 })
        for number in 1...4 { #expect(rig.store.object(rig.controller.key(segment(number))) == written[segment(number)]) }
        #expect((rig.store.requests.filter { $0.method == "PUT" }.map(\.inFlight).max() ?? 0) >= 2, "uploads overlap")
        // The workers ask one at a time: whoever asks first gets a batch, the others only what it lacks.
        let asked = rig.controller.urlRequests.map(\.names)
        #expect(asked.first?.count == 64)
        for (index, names) in asked.enumerated().dropFirst() {
            #expect(Set(names).isDisjoint(with: asked[..<index].joined()), "request \(index + 1) asks again for \(names)")
        }

        #expect(try rig.push(segment(3))?.get().alreadyArchived == false)
        #expect(rig.puts(segment(3)).count == 1, "answered from what the look-ahead stored")
        #expect(rig.puts(segment(5)).isEmpty)
    }

    @Test("a failed look-ahead upload waits 5 s before a scan tries it again; PostgreSQL's push tries it at once")
    func failedLookAheadBacksOff() throws {
        let rig = try Rig()
        let bytes = try rig.write(segment(1))
        try rig.markReady(segment(1))
        let key = rig.controller.key(segment(1))
        try rig.store.putObject(key, Array("different".utf8))  // fails at once: a conflict is not retried
        rig.archiver.scanReady()
        #expect(eventually { rig.puts(segment(1)).count == 1 })
        try rig.store.putObject(key, bytes)  // the conflict is resolved

        rig.archiver.scanReady()
        #expect(!eventually(timeout: .milliseconds(300)) { rig.puts(segment(1)).count > 1 }, "not within 5 s of the failure")
        rig.archiver.scanReady(now: Date().addingTimeInterval(6))
        #expect(eventually { rig.puts(segment(1)).count == 2 })
        #expect(try rig.push(segment(1))?.get().alreadyArchived == true)
    }

    @Test("the archiving report counts archived and failed uploads, the files still waiting and since when, and the URLs in hand")
    func reportFollowsProgress() throws {
        let rig = try Rig()
        #expect(rig.archiver.report() == WALArchivingReport(), "nothing has happened yet")
        for number in 1...2 {
            try rig.write(segment(number))
            try rig.markReady(segment(number))
        }
        try rig.store.putObject(rig.controller.key(segment(2)), Array("different".utf8))  // segment 2 cannot be stored
        let scannedAt = Date()
        rig.archiver.scanReady(now: scannedAt)
        #expect(eventually { rig.archiver.report().archivedCount == 1 && rig.archiver.report().failedCount == 1 })

        let report = rig.archiver.report()
        #expect(report.lastArchivedWAL == segment(1))
        #expect(report.lastFailedWAL == segment(2))
        #expect(report.lastError?.isEmpty == false)
        #expect(report.waiting == 1, "segment 2 is still .ready and not stored")
        #expect(report.oldestWaitingSince == Timestamp.rfc3339(scannedAt))
        let handedOver = Set(rig.controller.urlRequests.flatMap(\.names))
        #expect(report.urlsInHand == handedOver.count - 1, "every file's URLs in hand but those of the one archived")
        try report.validate()

        try FileManager.default.removeItem(atPath: rig.data.file("pg_wal/archive_status/\(segment(2)).ready"))
        rig.archiver.scanReady()
        #expect(rig.archiver.report().waiting == 0, "a file PostgreSQL no longer marks ready stops waiting")
        #expect(rig.archiver.report().oldestWaitingSince == nil)
    }

    @Test("a path that is not a file of pg_wal is refused before the controller is asked")
    func refusesOtherPaths() throws {
        let rig = try Rig()
        try Data("x".utf8).write(to: URL(fileURLWithPath: rig.data.file("PG_VERSION.bak")))
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<SnapfleetError?>(nil)
        rig.archiver.push(path: rig.data.file("PG_VERSION.bak")) { outcome in
            result.withLock { $0 = outcome.failureValue }
            done.signal()
        }
        _ = done.wait(timeout: .now() + 10)
        #expect(result.withLock { $0 }?.code == .invalidBody)
        #expect(rig.controller.urlRequests.isEmpty)
    }

    @Test("a file:// archive: the compressed bytes go to the controller in wal_put with their MD5, not to object storage")
    func viaController() throws {
        let rig = try Rig(compression: .gzip, transport: .controller)
        let bytes = try rig.write(segment(1))
        let result = try #require(rig.push(segment(1))).get()
        #expect(result.key == rig.controller.key(segment(1)))
        let sent = try #require(rig.controller.puts.first)
        #expect(rig.controller.puts.count == 1)
        #expect(sent.put.name == segment(1))
        #expect(sent.put.compression == "gzip")
        #expect(sent.put.md5 == (try MD5.hash(sent.bytes)).hex)
        #expect(try Compression.gzip.decompress(sent.bytes) == bytes)
        #expect(rig.store.requests.isEmpty)
    }

    @Test("stopping fails the pushes still waiting, retryably (PostgreSQL calls again)")
    func stopFailsWaiters() throws {
        let rig = try Rig()
        try rig.write(segment(1))
        rig.controller.setPaused(true)  // the upload cannot end first
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<SnapfleetError?>(nil)
        rig.archiver.push(path: rig.path(segment(1))) { outcome in
            result.withLock { $0 = outcome.failureValue }
            done.signal()
        }
        #expect(eventually { rig.controller.urlRequests.count == 1 }, "a worker is uploading")
        rig.archiver.stop()
        #expect(done.wait(timeout: .now() + 0.5) == .success, "answered at once, not after the upload")
        #expect(result.withLock { $0 }?.retryable == true)
        #expect(result.withLock { $0 }?.message == "the agent is stopping")
        // The worker's upload goes on to its end: let it, rather than have it retry into a stopped server.
        rig.controller.setPaused(false)
        #expect(eventually { rig.puts(segment(1)).count == 1 })
    }
}

extension Result {
    /// The error of a failure; nil for a success.
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
