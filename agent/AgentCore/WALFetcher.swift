import CompressionCodecs
import Foundation
import HTTPClient
import Logging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// Fetches WAL for PostgreSQL's `restore_command`: the file asked for, and in the background the
/// next segments, which recovery asks for one at a time right after. Once a call has shown where
/// PostgreSQL's `pg_wal` is, prefetched segments are written there ahead of time (as hidden
/// `.snapfleet-prefetch-*` files), so a later call is a rename; until then they wait in memory.
final class WALFetcher: Sendable {
    /// Segments fetched ahead of recovery (16 MiB each by default).
    static let prefetchCount = 8

    /// What a fetch came to.
    enum Outcome: Sendable, Equatable {
        /// The bytes, for the client to write.
        case bytes([UInt8])
        /// Written at the destination by the agent.
        case delivered
        /// Not in the archive.
        case notFound
    }

    /// A prefetched segment.
    enum Held: Sendable {
        /// In memory.
        case memory([UInt8])
        /// Written into `pg_wal` under a hidden name.
        case spooled(path: String)
    }

    private struct State {
        var ready: [String: Held] = [:]
        var fetching: Set<String> = []
        /// Where prefetched segments go: the `pg_wal` of the last delivery.
        var spoolDirectory: String?
        /// Counts the ends of the archive reached: a prefetch started before the last one keeps nothing.
        var ends = 0
    }

    private let controller: ControllerAsker
    private let segmentSize: @Sendable () -> Int
    private let logger: Logger
    private let state = Mutex(State())
    /// Connections kept from one download to the next: one per prefetching thread, one for a call's own.
    private let connections = HTTPConnectionPool(maxIdle: WALFetcher.prefetchParallelism + 1)

    /// A fetcher asking `controller` for URLs (or bytes, for a `file://` archive).
    init(controller: ControllerAsker, segmentSize: @escaping @Sendable () -> Int, logger: Logger) {
        self.controller = controller
        self.segmentSize = segmentSize
        self.logger = logger
    }

    /// The file, written at `destination` when it is a file of a data directory's `pg_wal`, or its
    /// bytes (decompressed) otherwise; `.notFound` when the archive does not have it.
    func fetch(_ name: String, destination: String? = nil) throws(SnapfleetError) -> Outcome {
        let following = WALArchiver.following(name, count: Self.prefetchCount, segmentSize: segmentSize())
        // Where the agent may write the file itself: a file of a data directory's pg_wal.
        let delivery = destination.flatMap { destination in WALDelivery.directory(of: destination).map { (destination: destination, directory: $0) } }
        if let delivery { state.withLock { $0.spoolDirectory = delivery.directory } }
        let started = Date()
        let held: Held?
        if let prefetched = takePrefetched(name) {
            held = prefetched
        } else {
            held = try downloadRetrying(name, into: delivery?.directory)
        }
        logger.debug("WAL fetched", metadata: ["wal": "\(name)", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        guard let held else {
            // The end of the archive: recovery stops asking (a standby asks again in a while).
            state.withLock { $0.ends += 1 }
            discardSpool()
            connections.drain()
            return .notFound
        }
        prefetch(following)
        return try hand(held, to: delivery)
    }

    /// Delivers `held` at the destination in its `pg_wal` directory (a rename when it was spooled
    /// there already), or returns its bytes when there is no such destination.
    private func hand(_ held: Held, to delivery: (destination: String, directory: String)?) throws(SnapfleetError) -> Outcome {
        switch (held, delivery) {
        case (.spooled(let path), let delivery?) where URL(fileURLWithPath: path).deletingLastPathComponent().path == delivery.directory:
            guard rename(path, delivery.destination) == 0 else { throw SnapfleetError(.ioError, "cannot rename \(path) to \(delivery.destination)") }
            return .delivered
        case (.spooled(let path), _):
            defer { unlink(path) }
            return try hand(.memory(try PosixFiles.readAll(path)), to: delivery)
        case (.memory(let bytes), let delivery?):
            try WALDelivery.write(bytes, into: delivery.directory, as: URL(fileURLWithPath: delivery.destination).lastPathComponent)
            return .delivered
        case (.memory(let bytes), nil):
            return .bytes(bytes)
        }
    }

    /// The file if it was prefetched — waiting for it (up to a minute) when its download is running,
    /// rather than downloading it a second time.
    private func takePrefetched(_ name: String) -> Held? {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let (ready, pending) = state.withLock { state in (state.ready.removeValue(forKey: name), state.fetching.contains(name)) }
            if let ready { return ready }
            guard pending, Date() < deadline else { return nil }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    /// Removes every prefetched segment still held (spooled files included).
    private func discardSpool() {
        let held = state.withLock { state in
            defer { state.ready.removeAll() }
            return Array(state.ready.values)
        }
        for case .spooled(let path) in held { unlink(path) }
    }

    /// Starts background downloads of the files not held or being fetched: their URLs in one
    /// request, then at most `prefetchParallelism` downloads at a time (memory stays bounded).
    private func prefetch(_ names: [String]) {
        let (wanted, passed, spool, ends) = state.withLock { state in
            let wanted = names.filter { state.ready[$0] == nil && !state.fetching.contains($0) }
            state.fetching.formUnion(wanted)
            // Forget what recovery went past (a timeline switch, say): memory and pg_wal stay bounded.
            var passed: [Held] = []
            for key in state.ready.keys where !names.contains(key) { passed += state.ready.removeValue(forKey: key).map { [$0] } ?? [] }
            return (wanted, passed, state.spoolDirectory, state.ends)
        }
        for case .spooled(let path) in passed { unlink(path) }
        guard !wanted.isEmpty else { return }
        Thread.detachNewThread { [self] in
            let urls = try? restoreURLs(wanted)
            let queue = Mutex(wanted)
            DispatchQueue.concurrentPerform(iterations: min(Self.prefetchParallelism, wanted.count)) { _ in
                do throws(SnapfleetError) {
                    try connections.withConnection { connection throws(SnapfleetError) in
                        prefetch(queue, urls: urls, transfer: WALTransfer(connection: connection), into: spool, ends: ends)
                    }
                } catch {
                    // No connection could be made: the names still leave `fetching`, as not fetched.
                    prefetch(queue, urls: urls, transfer: nil, into: spool, ends: ends)
                }
            }
        }
    }

    /// Downloads the names in `queue` until it is empty, holding each one fetched — unless the end
    /// of the archive was reached meanwhile: recovery is over, so a late segment is removed, not kept.
    private func prefetch(_ queue: borrowing Mutex<[String]>, urls: WALURLs?, transfer: WALTransfer?, into spool: String?, ends: Int) {
        while let name = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            let held = (try? download(name, urls: urls, transfer: transfer, into: spool)) ?? nil
            let kept = state.withLock { state -> Bool in
                state.fetching.remove(name)
                guard let held, state.ends == ends else { return false }
                state.ready[name] = held
                return true
            }
            if !kept, case .spooled(let path)? = held { unlink(path) }
        }
    }

    /// Attempts at the call's own download: recovery takes a failed `restore_command` for the end of
    /// the archive, so a transient error (a 5xx, a dropped connection) must not end it early.
    static let downloadAttempts = 4

    /// The call's own download, a retryable failure tried again after 0.5, 1 and 2 s.
    private func downloadRetrying(_ name: String, into directory: String?) throws(SnapfleetError) -> Held? {
        var attempt = 1
        while true {
            do {
                return try download(name, into: directory)
            } catch  where error.retryable && attempt < Self.downloadAttempts {
                logger.warning("WAL download failed, trying again", metadata: ["wal": "\(name)", "attempt": "\(attempt)", "error": "\(error)"])
                Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    /// Downloads at once during prefetching.
    static let prefetchParallelism = 4

    /// One file from the archive (see the other `download`).
    private func download(_ name: String, into directory: String?) throws(SnapfleetError) -> Held? {
        let urls = try restoreURLs([name])
        return try connections.withConnection { connection throws(SnapfleetError) in
            try download(name, urls: urls, transfer: WALTransfer(connection: connection), into: directory)
        }
    }

    /// The controller's answer for restoring `names` (one request, at most 64 names).
    private func restoreURLs(_ names: [String]) throws(SnapfleetError) -> WALURLs { try controller.walURLs(.restore, names) }

    /// `name` from the archive, each candidate key in turn, decompressed by its suffix as it arrives:
    /// written into `directory` (a `pg_wal`) under a hidden name when one is given, else held in
    /// memory; nil when the archive does not have it (or `urls` is nil).
    private func download(_ name: String, urls: WALURLs?, transfer: WALTransfer?, into directory: String?) throws(SnapfleetError) -> Held? {
        guard let urls else { return nil }
        guard urls.transport == .direct else {
            guard let bytes = try viaController(name) else { return nil }
            return try keep(bytes, name: name, in: directory)
        }
        guard let transfer else { throw SnapfleetError(.internalError, "no HTTP connection") }
        for url in urls.urls where url.name == name && url.method == "GET" {
            guard let compression = Compression.of(key: url.key) else {
                throw SnapfleetError(.invalidBody, "\(url.key) uses a compression snapfleet cannot read")
            }
            let decompressor = try Decompressor(compression)
            let sink = Sink(directory.map { ($0, Self.spoolName(name)) })
            guard try transfer.get(with: url, into: { piece throws(SnapfleetError) in try decompressor.feed(piece, to: sink.write) }) else {
                continue
            }
            try decompressor.finish()
            return try sink.finish()
        }
        return nil
    }

    /// A segment from the controller, in `directory` when one is given.
    private func keep(_ bytes: [UInt8], name: String, in directory: String?) throws(SnapfleetError) -> Held {
        guard let directory else { return .memory(bytes) }
        try WALDelivery.write(bytes, into: directory, as: Self.spoolName(name))
        return .spooled(path: directory + "/" + Self.spoolName(name))
    }

    /// The hidden name a prefetched segment waits under in `pg_wal`.
    private static func spoolName(_ name: String) -> String { ".snapfleet-prefetch-\(name)" }

    /// Where a download goes: a file in `pg_wal`, or memory. The file is created at the first byte
    /// of a found object only: a key the archive does not have leaves nothing behind, even briefly.
    private final class Sink {
        private let place: (directory: String, name: String)?
        private var file: WALFileWriter?
        private var bytes: [UInt8] = []

        /// A sink writing `name` in `directory`, or memory when `place` is nil.
        init(_ place: (directory: String, name: String)?) { self.place = place }

        /// Takes the next decompressed piece.
        func write(_ piece: UnsafeRawBufferPointer) throws(SnapfleetError) {
            if let place { try opened(place).write(piece) } else { bytes.append(contentsOf: piece) }
        }

        /// The whole segment: committed to its file, or the bytes.
        func finish() throws(SnapfleetError) -> Held {
            guard let place else { return .memory(bytes) }
            let file = try opened(place)
            try file.commit()
            return .spooled(path: file.path)
        }

        private func opened(_ place: (directory: String, name: String)) throws(SnapfleetError) -> WALFileWriter {
            if let file { return file }
            let created = try WALFileWriter(directory: place.directory, name: place.name)
            file = created
            return created
        }
    }

    /// A `file://` archive: the controller reads it and sends the bytes.
    private func viaController(_ name: String) throws(SnapfleetError) -> [UInt8]? {
        let reply = try controller.ask(.walGet(WALFileRequest(name: name)), [], .seconds(120)).get()
        guard case .walData(let data) = reply.envelope.message else {
            throw SnapfleetError(.unexpectedMessage, "the controller answered wal_get with \(reply.envelope.message.type.rawValue)")
        }
        guard data.found else { return nil }
        guard reply.attachments.count == 1, let compression = Compression(rawValue: data.compression) else {
            throw SnapfleetError(.invalidBody, "wal_data for \(name) came without its bytes")
        }
        return try compression.decompress(reply.attachments[0])
    }
}
