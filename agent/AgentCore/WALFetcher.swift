import CompressionCodecs
import Foundation
import Logging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// Fetches WAL for PostgreSQL's `restore_command`: the file asked for, and in the background the
/// next segments, which recovery asks for one at a time right after.
final class WALFetcher: Sendable {
    /// Segments fetched ahead of recovery, kept in memory (16 MiB each by default).
    static let prefetchCount = 8

    private struct State {
        var ready: [String: [UInt8]] = [:]
        var fetching: Set<String> = []
    }

    private let controller: ControllerAsker
    private let segmentSize: @Sendable () -> Int
    private let logger: Logger
    private let state = Mutex(State())

    /// A fetcher asking `controller` for URLs (or bytes, for a `file://` archive).
    init(controller: ControllerAsker, segmentSize: @escaping @Sendable () -> Int, logger: Logger) {
        self.controller = controller
        self.segmentSize = segmentSize
        self.logger = logger
    }

    /// The file's bytes, decompressed; nil when the archive does not have it.
    func fetch(_ name: String) throws(SnapfleetError) -> [UInt8]? {
        let following = WALArchiver.following(name, count: Self.prefetchCount, segmentSize: segmentSize())
        let started = Date()
        if let ready = takePrefetched(name) {
            prefetch(following)
            logger.debug("WAL fetched", metadata: ["wal": "\(name)", "prefetched": "true", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
            return ready
        }
        let bytes = try download(name)
        logger.debug("WAL fetched", metadata: ["wal": "\(name)", "prefetched": "false", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        if bytes != nil { prefetch(following) }
        return bytes
    }

    /// The file if it was prefetched — waiting for it (up to a minute) when its download is running,
    /// rather than downloading it a second time.
    private func takePrefetched(_ name: String) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let (ready, pending) = state.withLock { state in (state.ready.removeValue(forKey: name), state.fetching.contains(name)) }
            if let ready { return ready }
            guard pending, Date() < deadline else { return nil }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    /// Starts background downloads of the files not held or being fetched: their URLs in one
    /// request, then at most `prefetchParallelism` downloads at a time (memory stays bounded).
    private func prefetch(_ names: [String]) {
        let wanted = state.withLock { state in
            let wanted = names.filter { state.ready[$0] == nil && !state.fetching.contains($0) }
            state.fetching.formUnion(wanted)
            // Forget what recovery went past (a timeline switch, say): memory stays bounded.
            for key in state.ready.keys where !names.contains(key) { state.ready.removeValue(forKey: key) }
            return wanted
        }
        guard !wanted.isEmpty else { return }
        Thread.detachNewThread { [self] in
            let urls = try? restoreURLs(wanted)
            let queue = Mutex(wanted)
            DispatchQueue.concurrentPerform(iterations: min(Self.prefetchParallelism, wanted.count)) { _ in
                let transfer = try? WALTransfer()
                while let name = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                    let bytes = try? download(name, urls: urls, transfer: transfer)
                    state.withLock { state in
                        state.fetching.remove(name)
                        if let bytes, let bytes { state.ready[name] = bytes }
                    }
                }
            }
        }
    }

    /// Downloads at once during prefetching.
    static let prefetchParallelism = 4

    /// One file from the archive: each candidate key in turn, decompressed by its suffix.
    private func download(_ name: String) throws(SnapfleetError) -> [UInt8]? {
        try download(name, urls: try restoreURLs([name]), transfer: try WALTransfer()) ?? nil
    }

    /// The controller's answer for restoring `names` (one request, at most 64 names).
    private func restoreURLs(_ names: [String]) throws(SnapfleetError) -> WALURLs {
        let request = WALURLsRequest(purpose: .restore, names: Array(names.prefix(ProtocolLimits.maxWALNames)))
        let reply = try controller.ask(.walURLsRequest(request), [], .seconds(10)).get()
        guard case .walURLs(let answer) = reply.envelope.message else {
            throw SnapfleetError(.unexpectedMessage, "the controller answered wal_urls_request with \(reply.envelope.message.type.rawValue)")
        }
        return answer
    }

    /// `name` with `urls`: nil when the archive does not have it (the outer optional: no URLs for it).
    private func download(_ name: String, urls: WALURLs?, transfer: WALTransfer?) throws(SnapfleetError) -> [UInt8]?? {
        guard let urls else { return .some(nil) }
        guard urls.transport == .direct else { return .some(try viaController(name)) }
        guard let transfer else { throw SnapfleetError(.internalError, "no HTTP connection") }
        for url in urls.urls where url.name == name && url.method == "GET" {
            guard let stored = try transfer.get(with: url) else { continue }
            guard let compression = Compression.of(key: url.key) else {
                throw SnapfleetError(.invalidBody, "\(url.key) uses a compression snapfleet cannot read")
            }
            return .some(try compression.decompress(stored))
        }
        return .some(nil)
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
