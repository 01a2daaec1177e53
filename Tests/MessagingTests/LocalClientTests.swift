import Messaging
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

/// An admin-socket server: `Sockets.localRouter` in a MessageLoop with a scripted handler.
final class LocalServer: Sendable {
    let path: String
    let loop: MessageLoop
    let received = Recorder<Inbound>()

    init(path: String, respond: @escaping @Sendable (Inbound) -> Envelope?) throws {
        let context = try ZMQContext()
        let socket = try Sockets.localRouter(context, path: path)
        let loop = MessageLoop(logger: quietLogger)
        let received = self.received
        _ = loop.add(socket, isRouter: true) { [weak loop] inbound in
            received.append(inbound)
            if let reply = respond(inbound) { loop?.send(reply, to: inbound.peer) }
        }
        loop.start()
        self.path = path
        self.loop = loop
    }

    func stop() { loop.stop() }
}

@Suite("LocalClient: one request, one reply over the admin socket")
struct LocalClientTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "local", mode: 0o700)
    }

    @Test("a call gets its reply")
    func callGetsReply() throws {
        let agents = AgentsList(agents: [AgentInfo(server: "pg1", connected: true, hostname: "db1")])
        let server = try LocalServer(path: directory.file("admin.sock")) { inbound in
            .reply(to: inbound.envelope.id, .agents(agents))
        }
        defer { server.stop() }

        let reply = try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: server.path, timeout: .seconds(3))
        #expect(reply == .agents(agents))
        #expect(server.received.all.map(\.envelope.message) == [.agentsList(AgentsListRequest())])
        #expect(server.received.all.first?.userID == nil, "a local socket has no CURVE identity")
    }

    @Test("an error reply is thrown as its SnapfleetError")
    func errorReplyIsThrown() throws {
        let refusal = SnapfleetError(.unexpectedMessage, "hello is not an operator request", hint: "use agents", retryable: false)
        let server = try LocalServer(path: directory.file("admin.sock")) { inbound in
            .error(replyingTo: inbound.envelope.id, refusal)
        }
        defer { server.stop() }

        #expect(throws: refusal) { try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: server.path, timeout: .seconds(3)) }
    }

    @Test("a reply to some other request is ignored; the call waits for its own")
    func otherRepliesIgnored() throws {
        let server = try LocalServer(path: directory.file("admin.sock")) { inbound in
            .reply(to: try! MessageID("someone-else"), .agents(AgentsList(agents: [], more: false)))
        }
        defer { server.stop() }

        let error = try #require(throws: SnapfleetError.self) {
            try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: server.path, timeout: .milliseconds(400))
        }
        #expect(error == SnapfleetError(.timeout, "no reply from \(server.path) in time", retryable: true))
    }

    @Test("a server that does not answer makes the call time out, retryable")
    func silentServerTimesOut() throws {
        let server = try LocalServer(path: directory.file("admin.sock")) { _ in nil }
        defer { server.stop() }

        let started = ContinuousClock.now
        let error = try #require(throws: SnapfleetError.self) {
            try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: server.path, timeout: .milliseconds(500))
        }
        #expect(error == SnapfleetError(.timeout, "no reply from \(server.path) in time", retryable: true))
        #expect(ContinuousClock.now - started >= .milliseconds(450))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a call to a path with nothing listening fails at once, retryable, with a hint")
    func nothingListening() throws {
        let path = directory.file("nobody.sock")
        let started = ContinuousClock.now
        let error = try #require(throws: SnapfleetError.self) {
            try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: path, timeout: .seconds(60))
        }
        #expect(ContinuousClock.now - started < .seconds(10), "well before the call's timeout")
        #expect(error.code == .ioError)
        #expect(error.message == "nothing is listening on \(path)")
        #expect(error.hint == "is the program that serves it (controller or agent) running with this configuration?")
        #expect(error.retryable)
    }

    @Test("a relative socket path is refused before anything is opened")
    func relativePath() throws {
        #expect(
            throws: SnapfleetError(.invalidConfiguration, "socket path 'admin.sock' must be absolute and shorter than 100 bytes")
        ) {
            try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: "admin.sock", timeout: .seconds(1))
        }
    }
}
