import Messaging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization
import TestSupport
import Testing

/// Real CURVE sockets over tcp://127.0.0.1, driven by real MessageLoops.
@Suite("MessageLoop: requests, replies, refusals, timers and shutdown")
struct MessageLoopTests {
    /// A request frame for `type` with id `id`, written by hand as a foreign implementation might.
    func frame(_ json: String) -> [UInt8] { Array(json.utf8) }

    /// A server and an allowed raw CURVE DEALER that sends frames by hand.
    func rawClient(of server: CurveServer, keys: CurveKeyPair) throws -> ZMQSocket {
        let context = try ZMQContext()
        return try Sockets.curveDealer(context, keys: keys, serverKey: server.keys.publicKey, endpoint: server.endpoint)
    }

    @Test("a request the handler does not answer times out with a retryable timeout")
    func unansweredRequestTimesOut() async throws {
        let keys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [keys.publicKey]) { _ in nil }
        defer { server.stop() }
        let client = try CurveClient(keys: keys, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { client.stop() }

        // Timed where the loop completes the request, not where this task resumes: on two busy
        // cores the awaiting task may wait for a thread long after the timeout fired.
        let started = ContinuousClock.now
        let (result, elapsed) = await withCheckedContinuation { continuation in
            client.loop.request(.agentsList(AgentsListRequest()), to: client.server, timeout: .milliseconds(700)) { result in
                continuation.resume(returning: (result, ContinuousClock.now - started))
            }
        }
        #expect(throws: SnapfleetError(.timeout, "no reply to agents_list in time", retryable: true)) { try result.get() }
        #expect(elapsed >= .milliseconds(650))
        #expect(elapsed < .seconds(5))
        #expect(server.received.count == 1, "the request did arrive; only the reply is missing")
    }

    @Test("an error reply completes the request as its SnapfleetError")
    func errorReplyIsThrown() async throws {
        let keys = try CurveKeyPair.generate()
        let refusal = SnapfleetError(.unknownServer, "no server named 'pg9'", hint: "check the name", retryable: false)
        let server = try CurveServer(allowing: [keys.publicKey]) { inbound in .error(replyingTo: inbound.envelope.id, refusal) }
        defer { server.stop() }
        let client = try CurveClient(keys: keys, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { client.stop() }

        let error = try await #require(throws: SnapfleetError.self) {
            try await client.request(.agentsList(AgentsListRequest()), timeout: .seconds(3))
        }
        #expect(error == refusal)
        #expect(client.received.count == 0, "a reply goes to its request, not to the handler")
    }

    @Test("notifications go to the handler; replies nobody asked for are dropped")
    func notificationsAndStrayReplies() async throws {
        let keys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [keys.publicKey]) { _ in nil }
        defer { server.stop() }
        let client = try CurveClient(keys: keys, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { client.stop() }

        let reply = Task { await client.result(.agentsList(AgentsListRequest()), timeout: .seconds(3)) }
        #expect(try await eventually(timeout: .seconds(20)) { server.received.count == 1 })
        let request = try #require(server.received.all.first)
        server.loop.send(Envelope(.heartbeat), to: request.peer)
        server.loop.send(.reply(to: try MessageID("nobody-asked"), .agents(AgentsList(agents: [], more: false))), to: request.peer)
        server.loop.send(.reply(to: request.envelope.id, .agents(AgentsList(agents: [AgentInfo(server: "pg1", connected: false)]))), to: request.peer)

        let answered = try await reply.value.get()
        #expect(answered.envelope.message == .agents(AgentsList(agents: [AgentInfo(server: "pg1", connected: false)])))
        #expect(try await eventually(timeout: .seconds(20)) { client.received.count == 1 })
        #expect(client.received.all.map(\.envelope.message) == [Message.heartbeat])
    }

    @Test("a reply from another peer than the one asked does not complete the request; the right peer's does")
    func replyFromAnotherPeerIsDropped() async throws {
        let (keysA, keysB) = (try CurveKeyPair.generate(), try CurveKeyPair.generate())
        let server = try CurveServer(allowing: [keysA.publicKey, keysB.publicKey]) { _ in nil }
        defer { server.stop() }
        let clientA = try CurveClient(keys: keysA, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { clientA.stop() }
        let clientB = try CurveClient(keys: keysB, serverKey: server.keys.publicKey, endpoint: server.endpoint)
        defer { clientB.stop() }
        clientA.loop.send(Envelope(.heartbeat), to: clientA.server)
        #expect(try await eventually(timeout: .seconds(20)) { server.received.count == 1 })
        let peerA = try #require(server.received.all.first?.peer)

        let answered = Mutex<Result<Inbound, SnapfleetError>?>(nil)
        server.loop.request(.backupStatus(BackupReference(backupID: "20251125T213000")), to: peerA, timeout: .seconds(20)) { result in
            answered.withLock { $0 = result }
        }
        #expect(try await eventually(timeout: .seconds(20)) { clientA.received.count == 1 })
        let requestID = try #require(clientA.received.all.first?.envelope.id)
        let forged = BackupState(backupID: "20251125T213000", phase: .failed, start: nil, leaseExpiresAt: nil, reason: "forged")
        clientB.loop.send(.reply(to: requestID, .backupState(forged)), to: clientB.server)
        try await Task.sleep(for: .milliseconds(300))
        #expect(answered.withLock { $0 } == nil, "B's reply to a request sent to A is dropped")

        let genuine = BackupState(backupID: "20251125T213000", phase: .aborted, start: nil, leaseExpiresAt: nil, reason: "aborted")
        clientA.loop.send(.reply(to: requestID, .backupState(genuine)), to: clientA.server)
        #expect(try await eventually(timeout: .seconds(20)) { answered.withLock { $0 } != nil })
        let reply = try #require(try answered.withLock { $0 }?.get())
        #expect(reply.envelope.message == .backupState(genuine))
        #expect(reply.peer == peerA)
    }

    @Test("malformed frames are answered with error codes and the connection keeps working")
    func malformedInputIsRefused() async throws {
        let keys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [keys.publicKey])
        defer { server.stop() }
        let raw = try rawClient(of: server, keys: keys)
        defer { raw.close() }

        // Not JSON: nothing can be answered by id.
        try raw.send([frame("this is not json")])
        var reply = try await receiveEnvelope(raw)
        #expect(errorBody(reply)?.snapfleetError == SnapfleetError(.malformedMessage, "frame is not valid JSON"))
        #expect(reply != nil && reply?.inReplyTo == nil)

        // An unknown type is answered by id.
        try raw.send([frame(#"{"protocol":1,"id":"m-2","type":"launch_missiles","body":{}}"#)])
        reply = try await receiveEnvelope(raw)
        #expect(errorBody(reply)?.snapfleetError == SnapfleetError(.unknownType, "unknown message type 'launch_missiles'"))
        #expect(reply?.inReplyTo == (try MessageID("m-2")))

        // Another protocol version.
        try raw.send([frame(#"{"protocol":2,"id":"m-3","type":"agents_list","body":{}}"#)])
        reply = try await receiveEnvelope(raw)
        #expect(
            errorBody(reply)?.snapfleetError
                == SnapfleetError(.unsupportedVersion, "protocol version 2 is not supported; this program speaks version 1"))
        #expect(reply?.inReplyTo == (try MessageID("m-3")))

        // An envelope frame over 256 KiB.
        let big = frame(#"{"protocol":1,"id":"m-4","type":"agents_list","body":{"pad":""# + String(repeating: "x", count: 300_000) + #""}}"#)
        try raw.send([big])
        reply = try await receiveEnvelope(raw)
        #expect(
            errorBody(reply)?.snapfleetError
                == SnapfleetError(.messageTooLarge, "message of \(big.count) bytes exceeds the limit of \(ProtocolLimits.maxEnvelopeBytes)"))

        // A valid envelope followed by 16 binary frames: 17 frames, one too many.
        let tooMany =
            [frame(#"{"protocol":1,"id":"m-5","type":"agents_list","body":{}}"#)] + Array(repeating: [0x00], count: ProtocolLimits.maxFrames)
        try raw.send(tooMany)
        reply = try await receiveEnvelope(raw)
        #expect(errorBody(reply)?.snapfleetError == SnapfleetError(.messageTooLarge, "message has more than 16 frames"))
        #expect(reply?.inReplyTo == (try MessageID("m-5")))

        #expect(server.received.count == 0, "no refused message reaches the handler")

        // The same socket still gets answers.
        try raw.send([frame(#"{"protocol":1,"id":"m-6","type":"agents_list","body":{}}"#)])
        reply = try await receiveEnvelope(raw)
        #expect(reply?.message == .agents(AgentsList(agents: [], more: false)))
        #expect(reply?.inReplyTo == (try MessageID("m-6")))
        #expect(server.received.all.map(\.envelope.id.rawValue) == ["m-6"])
    }

    @Test("a message of exactly 16 frames is accepted, attachments and all")
    func sixteenFramesAccepted() async throws {
        let keys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [keys.publicKey])
        defer { server.stop() }
        let raw = try rawClient(of: server, keys: keys)
        defer { raw.close() }

        let attachments = (1...15).map { [UInt8]($0...$0 + 2) }
        try raw.send([frame(#"{"protocol":1,"id":"m-16","type":"agents_list","body":{}}"#)] + attachments)
        let reply = try await receiveEnvelope(raw)
        #expect(reply?.message == .agents(AgentsList(agents: [], more: false)))
        #expect(server.received.all.first?.attachments == attachments)
    }

    @Test("a DEALER-side loop also refuses a reply of more than 16 frames")
    func dealerFrameLimit() async throws {
        // A bare CURVE ROUTER plays the server so it can send an over-long message.
        let keys = try CurveKeyPair.generate()
        let serverKeys = try CurveKeyPair.generate()
        let context = try ZMQContext()
        let zap = try ZAPHandler(context: context, logger: quietLogger) { $0 == keys.publicKey }
        defer { zap.stop() }
        let (router, endpoint) = try bindOnFreePort { endpoint throws(SnapfleetError) in
            try Sockets.curveRouter(context, keys: serverKeys, endpoint: endpoint, zapHandler: zap)
        }
        defer { router.close() }
        let client = try CurveClient(keys: keys, serverKey: serverKeys.publicKey, endpoint: endpoint)
        defer { client.stop() }

        let reply = Task { await client.result(.agentsList(AgentsListRequest()), timeout: .milliseconds(1500)) }
        let request = try #require(try await receiveFrames(router))
        let requestID = try WireCodec.decode(request[1]).id
        let answer = Envelope.reply(to: requestID, .agents(AgentsList(agents: [], more: false)))
        try router.send([request[0], WireCodec.encode(answer)] + Array(repeating: [0x01], count: ProtocolLimits.maxFrames), wait: true)

        let result = await reply.value
        #expect(throws: SnapfleetError.self, "a 17-frame message must not complete the request") { try result.get() }
        let refusal = try await receiveFrames(router, within: .seconds(10))
        let refusalBody = try refusal.flatMap { try errorBody(WireCodec.decode($0[1])) }
        #expect(refusalBody?.code == .messageTooLarge)
        #expect(refusalBody?.message == "message has more than 16 frames")
    }

    @Test("a request to a ROUTER peer that is not connected fails at once as agent_not_connected")
    func requestToVanishedPeer() async throws {
        let server = try CurveServer(allowing: [])
        defer { server.stop() }
        let ghost = Peer(socket: SocketID(index: 0), routingID: Array("gone".utf8))
        // Timed where the loop completes the request (see unansweredRequestTimesOut).
        let started = ContinuousClock.now
        let (result, elapsed) = await withCheckedContinuation { continuation in
            server.loop.request(.agentsList(AgentsListRequest()), to: ghost, timeout: .seconds(60)) { result in
                continuation.resume(returning: (result, ContinuousClock.now - started))
            }
        }
        #expect(throws: SnapfleetError(.agentNotConnected, "peer is not connected", retryable: true)) { try result.get() }
        #expect(elapsed < .seconds(10), "well before the request's timeout")
    }

    @Test("timers fire repeatedly, each at its own interval, on a loop without sockets")
    func timersFire() async throws {
        let loop = MessageLoop(logger: quietLogger)
        let fast = Recorder<ContinuousClock.Instant>()
        let slow = Recorder<ContinuousClock.Instant>()
        loop.addTimer(every: .milliseconds(40)) { fast.append(.now) }
        loop.addTimer(every: .milliseconds(200)) { slow.append(.now) }
        let started = ContinuousClock.now
        loop.start()
        defer { loop.stop() }

        #expect(try await eventually(timeout: .seconds(3)) { slow.count >= 2 })
        let fastTicks = fast.all
        #expect(fastTicks.count >= 6)
        let first = try #require(fastTicks.first)
        #expect(first - started >= .milliseconds(35), "the first tick comes after one interval, not at once")
        #expect(slow.all.first.map { $0 - started >= .milliseconds(190) } == true)
    }

    @Test("stop() fails the requests still waiting, promptly")
    func stopFailsPending() async throws {
        let keys = try CurveKeyPair.generate()
        let server = try CurveServer(allowing: [keys.publicKey]) { _ in nil }
        defer { server.stop() }
        let client = try CurveClient(keys: keys, serverKey: server.keys.publicKey, endpoint: server.endpoint)

        let pending = Task { await client.result(.agentsList(AgentsListRequest()), timeout: .seconds(30)) }
        #expect(try await eventually(timeout: .seconds(20)) { server.received.count == 1 })
        let stopping = ContinuousClock.now
        client.stop()
        let result = await pending.value
        #expect(ContinuousClock.now - stopping < .seconds(10))
        #expect(throws: SnapfleetError(.ioError, "message loop stopped", retryable: true)) { try result.get() }
    }
}
