import AWSSigning
import Catalog
import CompressionCodecs
import Logging
import Messaging
import ObjectStore
import SnapfleetCore
import SnapfleetProtocol
import Synchronization
import Testing

@testable import ControllerCore

/// Every line a logger was given, with its level and metadata.
final class CapturedLog: Sendable {
    /// One logged line.
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    let lines = Mutex<[Line]>([])

    /// A logger at `level` whose lines land here.
    func logger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "test") { _ in Handler(log: self) }
        logger.logLevel = level
        return logger
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).mapValues { "\($0)" }
            log.lines.withLock { $0.append(Line(level: event.level, message: "\(event.message)", metadata: fields)) }
        }
    }
}

@Suite("WAL URL signing logs one line per request, each URL only at debug")
struct WALURLLoggingTests {
    func archive(_ logger: Logger) throws -> WALArchive {
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Redacted("secret"))
        let store = try S3ObjectStore(bucket: "wal", region: "us-east-1", endpoint: "http://127.0.0.1:9", credentials: credentials)
        let catalog = CatalogStore(store: store, layout: try CatalogLayout(path: "catalog", server: "pg1"))
        return WALArchive(server: "pg1", catalog: catalog, compression: .zstd, urlLifetime: 3600, logger: logger)
    }

    /// 64 consecutive segment names, a look-ahead request's worth.
    let names = (1...64).map { "0000000100000000000000" + ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }

    @Test("a look-ahead refill of 64 segments (128 URLs) logs one info line: server, count, first and last key, expiry")
    func oneInfoLinePerRequest() throws {
        let log = CapturedLog()
        let urls = try archive(log.logger(level: .info)).urls(WALURLsRequest(purpose: .archive, names: names))
        #expect(urls.urls.count == 128)
        let lines = log.lines.withLock { $0 }
        #expect(lines.count == 1, "\(lines.map(\.message))")
        let line = try #require(lines.first)
        #expect(line.level == .info && line.message == "WAL URLs issued")
        #expect(line.metadata["server"] == "pg1" && line.metadata["count"] == "128" && line.metadata["purpose"] == "archive")
        #expect(line.metadata["key.first"] == urls.urls.first?.key && line.metadata["key.last"] == urls.urls.last?.key)
        #expect(line.metadata["expires_at"] == urls.urls.first?.expiresAt)
        #expect(!lines.contains { $0.metadata.values.contains { $0.contains("X-Amz-Signature") } }, "no signature is ever logged")
    }

    @Test("at debug, each URL gets its own line too (never its signature)")
    func eachURLAtDebug() throws {
        let log = CapturedLog()
        _ = try archive(log.logger(level: .debug)).urls(WALURLsRequest(purpose: .restore, names: Array(names.prefix(2))))
        let lines = log.lines.withLock { $0 }
        #expect(lines.filter { $0.level == .debug && $0.message == "WAL URL issued" }.count == 6, "three candidate keys for each of two names")
        #expect(lines.filter { $0.level == .info }.count == 1)
        #expect(!lines.contains { $0.metadata.values.contains { $0.contains("X-Amz-Signature") } })
    }
}

@Suite("operator requests said again are not run twice")
struct AdminRequestsTests {
    @Test("a repeated request id from the same client is refused until the first is answered; then it is new again")
    func repeatsRefusedWhileInProgress() throws {
        let requests = AdminRequests()
        let client = Peer(socket: SocketID(index: 1), routingID: [1, 2, 3])
        let other = Peer(socket: SocketID(index: 1), routingID: [9])
        let run = Envelope(.backupRun(BackupRunRequest(server: "pg1", immediateCheckpoint: false)))
        let first = Inbound(peer: client, userID: nil, envelope: run, attachments: [])
        #expect(requests.begin(first))
        #expect(!requests.begin(first), "the CLI said it again after 10 quiet seconds: not a second backup")
        #expect(requests.begin(Inbound(peer: other, userID: nil, envelope: run, attachments: [])), "another client's request is its own")
        #expect(requests.begin(Inbound(peer: client, userID: nil, envelope: Envelope(.agentsList(AgentsListRequest())), attachments: [])))
        requests.end(first)
        #expect(requests.begin(first), "answered: the id may come again (a restarted controller's new run)")
    }
}
