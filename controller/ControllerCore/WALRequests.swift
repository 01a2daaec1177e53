import Foundation
import Logging
import ObjectStore
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// Answers an agent's WAL requests from its server's archive: the reply and its binary frames.
struct WALRequests {
    let archive: WALArchive

    /// `wal_urls_request` → `wal_urls`; `wal_put` (one frame) → `wal_stored`; `wal_get` → `wal_data` (+ one frame when found).
    func answer(_ message: Message, attachments: [[UInt8]]) throws(SnapfleetError) -> (Message, [[UInt8]]) {
        switch message {
        case .walURLsRequest(let request):
            return (.walURLs(try archive.urls(request)), [])
        case .walPut(let put):
            guard archive.catalog.store is FileObjectStore else {
                throw SnapfleetError(.unexpectedMessage, "wal_put is only for file:// destinations; ask for URLs", hint: "wal_urls_request")
            }
            guard attachments.count == 1 else {
                throw SnapfleetError(.invalidBody, "wal_put needs exactly one binary frame, got \(attachments.count)")
            }
            return (.walStored(try archive.put(put, bytes: attachments[0])), [])
        case .walGet(let request) where request.destination != nil:
            throw SnapfleetError(.invalidBody, "wal_get takes no destination: the controller never writes on the agent's host")
        case .walGet(let request):
            guard archive.catalog.store is FileObjectStore else {
                throw SnapfleetError(.unexpectedMessage, "wal_get is only for file:// destinations; ask for URLs", hint: "wal_urls_request")
            }
            let (data, bytes) = try archive.get(request.name)
            return (.walData(data), bytes.map { [$0] } ?? [])
        default:
            throw SnapfleetError(.unexpectedMessage, "\(message.type.rawValue) is not a WAL request")
        }
    }
}

/// Each server's `WALArchive`, opened once and reopened after five minutes (credentials from
/// the instance metadata service expire).
final class WALArchives: Sendable {
    private struct Opened {
        let archive: WALArchive
        let at: Date
    }

    private let opened = Mutex<[String: Opened]>([:])
    private let writing = Mutex(0)

    /// WAL files a `file://` archive writes at once: with the bytes of each in memory, this bounds
    /// the controller's memory however many agents push; the others are told to retry.
    static let maxConcurrentPuts = 4

    /// Runs `body` if fewer than `maxConcurrentPuts` puts are running; a retryable refusal otherwise.
    func withPutSlot<T>(_ body: () throws(SnapfleetError) -> T) throws(SnapfleetError) -> T {
        let admitted = writing.withLock { count in
            guard count < Self.maxConcurrentPuts else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw SnapfleetError(.ioError, "the controller is writing \(Self.maxConcurrentPuts) WAL files already", retryable: true)
        }
        defer { writing.withLock { $0 -= 1 } }
        return try body()
    }

    /// Creates an empty cache.
    init() {}

    /// Forgets every opened archive (after a reload: destinations and settings may have changed).
    func forgetAll() { opened.withLock { $0.removeAll() } }

    /// The server's archive, opening it if needed.
    func archive(server: String, config: ServerConfig, logger: Logger, now: Date = Date()) throws(SnapfleetError) -> WALArchive {
        if let cached = opened.withLock({ $0[server] }), now.timeIntervalSince(cached.at) < 300 { return cached.archive }
        let catalog = try CatalogStore.open(server: server, config: config)
        let archive = WALArchive(
            server: server, catalog: catalog, compression: config.walCompression, urlLifetime: config.walURLLifetimeSeconds, logger: logger)
        opened.withLock { $0[server] = Opened(archive: archive, at: now) }
        return archive
    }
}
