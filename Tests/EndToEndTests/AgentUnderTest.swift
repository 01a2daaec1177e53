import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import TestSupport

/// The real `snapfleet-agent` process, connected to a controller played by the test over a
/// real CURVE ROUTER socket, so the test can send it anything.
final class AgentUnderTest {
    let directory: TemporaryDirectory
    let process: ProgramProcess
    let peer: RawPeer
    let hello: Hello
    private let context: ZMQContext
    private let zap: ZAPHandler

    init(conninfo: String) throws {
        directory = try TemporaryDirectory(prefix: "agent")
        let keys = try CurveKeyPair.generate()
        let agentKey = try Shell.check([BuiltProducts.path("snapfleet-agent"), "keygen", "--out", directory.file("agent.key")])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        context = try ZMQContext()
        zap = try ZAPHandler(context: context, logger: .init(label: "test")) { $0.z85 == agentKey }
        let port = freeTCPPort()
        let socket = try Sockets.curveRouter(context, keys: keys, endpoint: "tcp://127.0.0.1:\(port)", zapHandler: zap)
        peer = RawPeer(socket, isRouter: true)
        let config = directory.file("agent.yaml")
        try """
        controller: tcp://127.0.0.1:\(port)
        controller_public_key: "\(keys.publicKey.z85)"
        key_file: \(directory.file("agent.key"))
        postgres: "\(conninfo)"
        server: pg1

        """.write(toFile: config, atomically: true, encoding: .utf8)
        process = try ProgramProcess(
            BuiltProducts.path("snapfleet-agent"), ["run", "--config", config, "--log-level", "debug"], logPath: directory.file("agent.log"))
        guard let first = try peer.receive(timeout: .seconds(15)), case .hello(let hello) = first.message else {
            throw FleetError("agent did not say hello:\n\(process.log)")
        }
        self.hello = hello
        try peer.send(.reply(to: first.id, .helloAck(HelloAck(server: "pg1", controllerVersion: "test", heartbeatIntervalMs: 1000))))
    }

    /// Sends a request and waits for its reply.
    func request(_ message: Message, timeout: Duration = .seconds(30)) throws -> Message? {
        let envelope = Envelope(message)
        try peer.send(envelope)
        return try peer.reply(to: envelope.id, timeout: timeout)?.message
    }

    /// Waits for a message the agent sends on its own (not a reply).
    func notification(timeout: Duration, where matches: (Message) -> Bool) throws -> Message? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let envelope = try peer.receive(timeout: deadline - ContinuousClock.now) else { return nil }
            if matches(envelope.message) { return envelope.message }
        }
        return nil
    }

    deinit {
        process.stop()
        peer.socket.close()
        zap.stop()
    }
}
