import Foundation
import Logging
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization
import TestSupport
import Testing

/// A logger that discards everything: these tests assert on behaviour, not on log lines.
let quietLogger = Logger(label: "snapfleet.messaging-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// A thread-safe list that handlers (on loop threads) append to and tests read.
final class Recorder<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    init() {}

    func append(_ item: Element) { items.withLock { $0.append(item) } }

    var all: [Element] { items.withLock { $0 } }

    var count: Int { items.withLock { $0.count } }
}

/// Binds a TCP endpoint on a random high loopback port, retrying when the port is taken
/// (our socket wrapper does not support binding port 0).
func bindOnFreePort<Result>(_ bind: (String) throws(SnapfleetError) -> Result) throws -> (Result, String) {
    var lastError: SnapfleetError?
    for _ in 0..<30 {
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 20_000...60_999))"
        do {
            return (try bind(endpoint), endpoint)
        } catch {
            guard error.message.contains("address already in use") else { throw error }
            lastError = error
        }
    }
    throw lastError!
}

/// A CURVE server as the controller runs one: its own context, a ZAP handler with an
/// allowlist, a ROUTER bound after ZAP, and a MessageLoop whose handler may answer.
final class CurveServer: Sendable {
    let keys: CurveKeyPair
    let endpoint: String
    let loop: MessageLoop
    /// Every message the handler was called with.
    let received = Recorder<Inbound>()
    /// Every key ZAP was asked about.
    let zapQueries = Recorder<CurvePublicKey>()
    private let zap: ZAPHandler

    /// `respond` returns the reply to send for an inbound message, or nil to stay silent.
    init(allowing allowed: Set<CurvePublicKey>, respond: @escaping @Sendable (Inbound) -> Envelope? = CurveServer.answerAgentsList) throws {
        let keys = try CurveKeyPair.generate()
        let context = try ZMQContext()
        let zapQueries = self.zapQueries
        let zap = try ZAPHandler(context: context, logger: quietLogger) { key in
            zapQueries.append(key)
            return allowed.contains(key)
        }
        let (socket, endpoint) = try bindOnFreePort { endpoint throws(SnapfleetError) in
            try Sockets.curveRouter(context, keys: keys, endpoint: endpoint, zapHandler: zap)
        }
        let loop = MessageLoop(logger: quietLogger)
        let received = self.received
        _ = loop.add(socket, isRouter: true) { [weak loop] inbound in
            received.append(inbound)
            if let reply = respond(inbound) { loop?.send(reply, to: inbound.peer) }
        }
        loop.start()
        self.keys = keys
        self.endpoint = endpoint
        self.loop = loop
        self.zap = zap
    }

    /// The default behaviour: `agents_list` gets an empty `agents` reply, everything else silence.
    static let answerAgentsList: @Sendable (Inbound) -> Envelope? = { inbound in
        guard case .agentsList = inbound.envelope.message else { return nil }
        return .reply(to: inbound.envelope.id, .agents(AgentsList(agents: [], more: false)))
    }

    /// Stops the loop (closing the ROUTER), then the ZAP handler.
    func stop() {
        loop.stop()
        zap.stop()
    }
}

/// An agent-like client: a CURVE DEALER owned by its own MessageLoop.
final class CurveClient: Sendable {
    let keys: CurveKeyPair
    let loop: MessageLoop
    /// The controller, as this client's loop addresses it.
    let server: Peer
    /// Messages from the server that were not replies to this client's requests.
    let received = Recorder<Inbound>()

    init(keys: CurveKeyPair? = nil, serverKey: CurvePublicKey, endpoint: String) throws {
        let keys = try keys ?? CurveKeyPair.generate()
        let context = try ZMQContext()
        let socket = try Sockets.curveDealer(context, keys: keys, serverKey: serverKey, endpoint: endpoint)
        let loop = MessageLoop(logger: quietLogger)
        let received = self.received
        let id = loop.add(socket, isRouter: false) { received.append($0) }
        loop.start()
        self.keys = keys
        self.loop = loop
        self.server = Peer(socket: id, routingID: nil)
    }

    func request(_ message: Message, timeout: Duration) async throws(SnapfleetError) -> Inbound {
        try await loop.request(message, to: server, timeout: timeout)
    }

    /// The request's outcome as a value, for requests started in a child task.
    func result(_ message: Message, timeout: Duration) async -> Result<Inbound, SnapfleetError> {
        do throws(SnapfleetError) {
            return .success(try await request(message, timeout: timeout))
        } catch {
            return .failure(error)
        }
    }

    func stop() { loop.stop() }
}

/// Waits (without blocking a cooperative thread) for one whole message on a raw socket.
func receiveFrames(_ socket: ZMQSocket, within timeout: Duration = .seconds(20)) async throws -> [[UInt8]]? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let message = try socket.receive(maxFrames: 64) { return message.frames }
        try await Task.sleep(for: .milliseconds(5))
    }
    return nil
}

/// Waits for one message on a raw DEALER socket and decodes its envelope frame.
func receiveEnvelope(_ socket: ZMQSocket, within timeout: Duration = .seconds(20)) async throws -> Envelope? {
    guard let frames = try await receiveFrames(socket, within: timeout), let first = frames.first else { return nil }
    do { return try WireCodec.decode(first) } catch { throw error.error }
}

/// The body of an `error` envelope, or nil for any other message.
func errorBody(_ envelope: Envelope?) -> ErrorBody? {
    guard case .error(let body)? = envelope?.message else { return nil }
    return body
}

/// `stat` of a path, or nil if it does not exist.
func fileStatus(_ path: String) -> stat? {
    var status = stat()
    return stat(path, &status) == 0 ? status : nil
}

/// The permission bits of a file.
func permissions(_ path: String) -> mode_t? {
    fileStatus(path).map { $0.st_mode & 0o7777 }
}
