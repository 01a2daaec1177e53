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
        if let ready = state.withLock({ $0.ready.removeValue(forKey: name) }) {
            prefetch(following)
            return ready
        }
        let bytes = try download(name)
        if bytes != nil { prefetch(following) }
        return bytes
    }

    /// Starts background downloads of the files not held or being fetched (each on a thread of its own).
    private func prefetch(_ names: [String]) {
        let wanted = state.withLock { state in
            let wanted = names.filter { state.ready[$0] == nil && !state.fetching.contains($0) }
            state.fetching.formUnion(wanted)
            // Forget what recovery went past (a timeline switch, say): memory stays bounded.
            for key in state.ready.keys where !names.contains(key) { state.ready.removeValue(forKey: key) }
            return wanted
        }
        for name in wanted {
            Thread.detachNewThread { [self] in
                let bytes = try? download(name)
                state.withLock { state in
                    state.fetching.remove(name)
                    if let bytes { state.ready[name] = bytes }
                }
            }
        }
    }

    /// One file from the archive: each candidate key in turn, decompressed by its suffix.
    private func download(_ name: String) throws(SnapfleetError) -> [UInt8]? {
        let reply = try controller.ask(.walURLsRequest(WALURLsRequest(purpose: .restore, names: [name])), [], .seconds(10)).get()
        guard case .walURLs(let answer) = reply.envelope.message else {
            throw SnapfleetError(.unexpectedMessage, "the controller answered wal_urls_request with \(reply.envelope.message.type.rawValue)")
        }
        guard answer.transport == .direct else { return try viaController(name) }
        let transfer = try WALTransfer()
        for url in answer.urls where url.name == name && url.method == "GET" {
            guard let stored = try transfer.get(with: url) else { continue }
            guard let compression = Compression.of(key: url.key) else {
                throw SnapfleetError(.invalidBody, "\(url.key) uses a compression snapfleet cannot read")
            }
            return try compression.decompress(stored)
        }
        return nil
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
