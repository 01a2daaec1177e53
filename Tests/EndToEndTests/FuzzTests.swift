import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

/// Thousands of random and mutated messages at both programs: neither crashes, the connection
/// survives, and a valid request still gets its answer afterwards.
@Suite("hostile messages", .serialized, .requires(BuiltProducts.exists("snapfleet-agent"), "run swift build first"))
struct FuzzTests {
    static let messageCount = 3000

    static let validEnvelopes: [Envelope] = [
        Envelope(.hello(Hello(server: "pg1", agentVersion: "0.1.0", hostname: "db1", postgres: .down("connection refused")))),
        Envelope(.heartbeat),
        Envelope(.backupStart(BackupStart(backupID: "20261125T120000", label: "l", fastCheckpoint: true, leaseSeconds: 30))),
        Envelope(.backupStatus(BackupReference(backupID: "20261125T120000"))),
        Envelope(.backupStop(BackupStop(backupID: "20261125T120000", waitForArchive: false))),
        Envelope(.agentsList(AgentsListRequest())),
        .error(replyingTo: nil, SnapfleetError(.timeout, "x")),
    ]

    @Test("the agent survives thousands of hostile messages and still answers")
    func agentSurvives() throws {
        let cluster = try PostgresCluster.shared()
        let agent = try AgentUnderTest(conninfo: cluster.conninfo)
        var fuzz = FuzzFrames(seed: 0x5EED_A6E7, valid: Self.validEnvelopes)
        var errorReplies = 0
        for index in 0..<Self.messageCount {
            try agent.peer.sendRaw(fuzz.next())
            if index % 50 == 0 { errorReplies += try agent.peer.drain() }
        }
        // Replies trail the sends; collect them before judging how many there were.
        _ = try eventually(timeout: .seconds(20)) {
            errorReplies += try agent.peer.drain()
            return errorReplies > Self.messageCount / 4
        }
        let reply = try agent.request(.backupStatus(BackupReference(backupID: "19990101T000000")))
        guard case .error(let error) = reply else {
            Issue.record("valid request answered \(String(describing: reply)):\n\(agent.process.log.suffix(2000))"); return
        }
        #expect(error.code == .backupNotFound)
        #expect(agent.process.isRunning)
        #expect(errorReplies > Self.messageCount / 4, "hostile messages are answered with errors")
    }

    @Test("the controller survives thousands of hostile messages and still answers agents and operators")
    func controllerSurvives() throws {
        let fleet = try Fleet()
        let agentKey = try fleet.agentKey("pg1")
        try fleet.writeControllerConfig(servers: ["pg1": agentKey], heartbeatMs: 1000)
        try fleet.startController()
        let context = try ZMQContext()
        let keys = try KeyFile.read(fleet.directory.file("pg1.key"))
        let socket = try Sockets.curveDealer(
            context, keys: keys, serverKey: try CurvePublicKey(z85: fleet.controllerPublicKey), endpoint: "tcp://127.0.0.1:\(fleet.port)")
        defer { socket.close() }
        let peer = RawPeer(socket, isRouter: false)

        var fuzz = FuzzFrames(seed: 0xC0_17_01_1E, valid: Self.validEnvelopes)
        var errorReplies = 0
        for index in 0..<Self.messageCount {
            try peer.sendRaw(fuzz.next())
            if index % 50 == 0 { errorReplies += try peer.drain() }
        }
        _ = try eventually(timeout: .seconds(20)) {
            errorReplies += try peer.drain()
            return errorReplies > Self.messageCount / 4
        }
        let hello = Envelope(.hello(Hello(server: "pg1", agentVersion: "0.1.0", hostname: "fuzz", postgres: .down("none"))))
        try peer.send(hello)
        let ack = try peer.reply(to: hello.id, timeout: .seconds(20))
        guard case .helloAck(let accepted)? = ack?.message else {
            Issue.record("hello answered \(String(describing: ack)):\n\(fleet.controller?.log.suffix(2000) ?? "")"); return
        }
        #expect(accepted.server == "pg1")
        #expect(fleet.controller?.isRunning == true)
        #expect(errorReplies > Self.messageCount / 4)
        #expect(try fleet.agent("pg1")?["hostname"] == .string("fuzz"))
    }

    @Test("the admin socket survives hostile messages")
    func adminSocketSurvives() throws {
        let fleet = try Fleet()
        try fleet.writeControllerConfig(servers: ["pg1": try fleet.agentKey("pg1")])
        try fleet.startController()
        let context = try ZMQContext()
        let socket = try Sockets.localDealer(context, path: fleet.adminSocket)
        defer { socket.close() }
        let peer = RawPeer(socket, isRouter: false)
        var fuzz = FuzzFrames(seed: 0xAD_01, valid: Self.validEnvelopes)
        for index in 0..<1000 {
            try peer.sendRaw(fuzz.next())
            if index % 50 == 0 { _ = try peer.drain() }
        }
        #expect(try fleet.listAgents().count == 1)
        #expect(fleet.controller?.isRunning == true)
    }
}
