import CompressionCodecs
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Synchronization
import TestSupport

@testable import AgentCore
@testable import Messaging

/// A controller that follows a script, in place of the real one behind ZeroMQ: it answers
/// `wal_urls_request` with URLs into a `TestHTTPServer`'s object store (the query `sig=<n>` marks the
/// answer to the n-th request), keeps a `file://` archive in memory for `wal_put` and `wal_get`, records
/// every request, and fails on cue.
final class ScriptedController: Sendable {
    /// One `wal_urls_request` as it arrived.
    struct URLRequest: Sendable, Equatable {
        var purpose: WALPurpose
        var names: [String]
    }

    private struct Script {
        var compression: Compression
        var transport: WALTransport
        var lifetime: TimeInterval = 3600
        var clockOffset: TimeInterval = 0
        var unreachable = false
        var paused = false
        var failures: [SnapfleetError] = []
        var urlRequests: [URLRequest] = []
        var puts: [(put: WALPut, bytes: [UInt8])] = []
        var gets: [String] = []
        /// The controller-side archive: bytes as stored (compressed), by WAL name.
        var files: [String: [UInt8]] = [:]
    }

    private let store: TestHTTPServer
    private let script: Mutex<Script>

    /// A controller signing URLs into `store` for a server whose archive uses `compression`.
    init(store: TestHTTPServer, compression: Compression = .none, transport: WALTransport = .direct) {
        self.store = store
        script = Mutex(Script(compression: compression, transport: transport))
    }

    /// The closure the archiver and fetcher ask through.
    var asker: ControllerAsker { ControllerAsker { [self] message, attachments, _ in answer(message, attachments) } }

    /// The object key of `name` stored with `compression` (the server's own when nil), in barman-cloud's layout.
    func key(_ name: String, _ compression: Compression? = nil) -> String {
        let suffix = (compression ?? script.withLock { $0.compression }).fileExtension
        return name.count == 24 ? "pg1/wals/\(name.prefix(16))/\(name)\(suffix)" : "pg1/wals/\(name)\(suffix)"
    }

    /// Every `wal_urls_request` so far, in order.
    var urlRequests: [URLRequest] { script.withLock { $0.urlRequests } }

    /// Every `wal_put` so far, with its attached bytes.
    var puts: [(put: WALPut, bytes: [UInt8])] { script.withLock { $0.puts } }

    /// The name of every `wal_get` so far, in order.
    var gets: [String] { script.withLock { $0.gets } }

    /// While true, every request fails at once as the agent's asker does with no accepted hello.
    func setUnreachable(_ unreachable: Bool) { script.withLock { $0.unreachable = unreachable } }

    /// The next requests fail with these errors, one each, in order.
    func failNext(_ errors: SnapfleetError...) { script.withLock { $0.failures += errors } }

    /// How long from now the URLs it signs are valid.
    func setLifetime(_ lifetime: TimeInterval) { script.withLock { $0.lifetime = lifetime } }

    /// Runs the controller's clock `offset` ahead of the real one (for code under test given `now:`).
    func setClockOffset(_ offset: TimeInterval) { script.withLock { $0.clockOffset = offset } }

    /// While true, requests are recorded but not answered: the asking thread waits (a slow controller).
    func setPaused(_ paused: Bool) { script.withLock { $0.paused = paused } }

    /// Puts `bytes` (compressed as stored) in the controller-side archive.
    func hold(_ name: String, _ bytes: [UInt8]) { script.withLock { $0.files[name] = bytes } }

    private func answer(_ message: Message, _ attachments: [[UInt8]]) -> Result<Inbound, SnapfleetError> {
        if case .walURLsRequest(let request) = message {
            script.withLock { $0.urlRequests.append(URLRequest(purpose: request.purpose, names: request.names)) }
        }
        while script.withLock({ $0.paused }) { usleep(1000) }
        return script.withLock { script -> Result<Message, SnapfleetError> in
            if script.unreachable {
                return .failure(SnapfleetError(.agentNotConnected, "the controller is not reachable (no accepted hello)", retryable: true))
            }
            if !script.failures.isEmpty { return .failure(script.failures.removeFirst()) }
            switch message {
            case .walURLsRequest(let request):
                return .success(.walURLs(urls(request, script: script)))
            case .walPut(let put):
                script.puts.append((put, attachments.first ?? []))
                let already = script.files[put.name] != nil
                if !already { script.files[put.name] = attachments.first ?? [] }
                return .success(.walStored(WALStored(name: put.name, key: key(put.name, script.compression), alreadyArchived: already)))
            case .walGet(let request):
                script.gets.append(request.name)
                return .success(
                    .walData(WALData(name: request.name, found: script.files[request.name] != nil, compression: script.compression.rawValue)))
            default:
                return .failure(SnapfleetError(.unexpectedMessage, "the scripted controller has no answer to \(message.type.rawValue)"))
            }
        }.map { reply in
            var frames: [[UInt8]] = []
            if case .walData(let data) = reply, data.found, let bytes = script.withLock({ $0.files[data.name] }) { frames = [bytes] }
            return Inbound(peer: Peer(socket: SocketID(index: 0), routingID: nil), userID: nil, envelope: Envelope(reply), attachments: frames)
        }
    }

    /// PUT (with `if-none-match: *`) and HEAD URLs to archive, GET URLs of every candidate key to
    /// restore (the server's compression first), as the real controller signs them.
    private func urls(_ request: WALURLsRequest, script: Script) -> WALURLs {
        guard script.transport == .direct else { return WALURLs(transport: .controller, compression: script.compression.rawValue, urls: []) }
        let query = "sig=\(script.urlRequests.count)"
        let expires = Timestamp.rfc3339(Date().addingTimeInterval(script.clockOffset + script.lifetime))
        var urls: [WALURL] = []
        for name in request.names {
            switch request.purpose {
            case .archive:
                let key = key(name, script.compression)
                let url = store.objectURL(key, query: query)
                urls.append(WALURL(name: name, key: key, method: "PUT", url: url, headers: ["if-none-match": "*"], expiresAt: expires))
                urls.append(WALURL(name: name, key: key, method: "HEAD", url: url, headers: [:], expiresAt: expires))
            case .restore:
                for compression in [script.compression] + Compression.allCases.filter({ $0 != script.compression }) {
                    let key = key(name, compression)
                    urls.append(
                        WALURL(name: name, key: key, method: "GET", url: store.objectURL(key, query: query), headers: [:], expiresAt: expires))
                }
            }
        }
        return WALURLs(transport: .direct, compression: script.compression.rawValue, urls: urls)
    }
}
