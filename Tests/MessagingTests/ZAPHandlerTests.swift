import Messaging
import SnapfleetCore
import SnapfleetProtocol
import Testing

/// End to end over tcp://127.0.0.1: ZAP, CURVE and two MessageLoops, as controller and agent use them.
@Suite("ZAPHandler admits only allowlisted CURVE keys and names the peer by its key")
struct ZAPHandlerTests {
    @Test("an allowed key gets its reply, and the server sees the client's key as its identity")
    func allowedKeyIsAnswered() async throws {
        let clientKeys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [clientKeys.publicKey])
        defer { server.stop() }
        let client = try CurveClient(keys: clientKeys, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { client.stop() }

        let reply = try await client.request(.agentsList(AgentsListRequest()), timeout: .seconds(3))
        #expect(reply.envelope.message == .agents(AgentsList(agents: [], more: false)))
        #expect(reply.userID == nil, "a DEALER client has no ZAP identity for its server")

        let seen = try #require(server.received.all.first)
        #expect(seen.userID == clientKeys.publicKey.z85)
        #expect(seen.peer.routingID != nil)
        #expect(seen.envelope.id == reply.envelope.inReplyTo)
        #expect(server.zapQueries.all.contains(clientKeys.publicKey))
    }

    @Test("two allowed clients are each identified by their own key")
    func identitiesAreNotConfused() async throws {
        let first = try CurveKeyPair.generate()
        let second = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [first.publicKey, second.publicKey])
        defer { server.stop() }
        let clientA = try CurveClient(keys: first, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { clientA.stop() }
        let clientB = try CurveClient(keys: second, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { clientB.stop() }

        let replyA = try await clientA.request(.agentsList(AgentsListRequest()), timeout: .seconds(3))
        let replyB = try await clientB.request(.agentsList(AgentsListRequest()), timeout: .seconds(3))

        let seen = server.received.all
        let seenA = try #require(seen.first { $0.envelope.id == replyA.envelope.inReplyTo })
        let seenB = try #require(seen.first { $0.envelope.id == replyB.envelope.inReplyTo })
        #expect(seenA.userID == first.publicKey.z85)
        #expect(seenB.userID == second.publicKey.z85)
        #expect(seenA.peer != seenB.peer)
    }

    @Test("a key not in the allowlist never gets a reply, and the handler is never called")
    func unknownKeyIsRefused() async throws {
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [allowed.publicKey])
        defer { server.stop() }
        let client = try CurveClient(keys: stranger, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { client.stop() }

        let error = try await #require(throws: SnapfleetError.self) {
            try await client.request(.agentsList(AgentsListRequest()), timeout: .seconds(1))
        }
        #expect(error == SnapfleetError(.timeout, "no reply to agents_list in time", retryable: true))
        #expect(server.received.count == 0)
        #expect(server.zapQueries.all.contains(stranger.publicKey), "the refusal came from ZAP, not from a failed handshake")
    }

    @Test("a client that trusts the wrong server key gets no reply")
    func wrongServerKey() async throws {
        let clientKeys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [clientKeys.publicKey])
        defer { server.stop() }
        let impostorKey = try CurveKeyPair.generate().publicKey
        let client = try CurveClient(keys: clientKeys, serverKey: impostorKey, endpoint: server.endpoint)
        defer { client.stop() }

        let error = try await #require(throws: SnapfleetError.self) {
            try await client.request(.agentsList(AgentsListRequest()), timeout: .seconds(1))
        }
        #expect(error.code == .timeout)
        #expect(error.retryable)
        #expect(server.received.count == 0)
        #expect(server.zapQueries.count == 0, "the CURVE handshake fails before ZAP is asked")
    }

    @Test("a client without CURVE cannot reach the handler")
    func plainClientIsRefused() async throws {
        let server = try CurveServer(allowing: [])
        defer { server.stop() }
        let context = try ZMQContext()
        let raw = try ZMQSocket(context, .dealer)
        defer { raw.close() }
        try raw.connect(server.endpoint)
        try raw.send([WireCodec.encode(Envelope(.agentsList(AgentsListRequest())))])

        #expect(try await receiveFrames(raw, within: .milliseconds(800)) == nil)
        #expect(server.received.count == 0)
    }
}
