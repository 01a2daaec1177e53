import CZeroMQ
import Logging
import SnapfleetCore

/// The ZeroMQ authentication handler (RFC 27 ZAP): admits only CURVE clients whose public
/// key the policy allows, and gives each admitted connection its key as `User-Id`.
///
/// It must run before the server socket binds: without a handler ZeroMQ admits every
/// CURVE client that knows the server's public key.
public final class ZAPHandler: Sendable {
    /// Decides whether a client key may connect.
    public typealias Policy = @Sendable (CurvePublicKey) -> Bool

    private let stopping = Flag()
    private let finished = Flag()

    /// Binds the ZAP endpoint in `context` and starts answering on its own thread.
    public init(context: ZMQContext, logger: Logger, policy: @escaping Policy) throws(SnapfleetError) {
        let socket = try ZMQSocket(context, .reply)
        try socket.bind("inproc://zeromq.zap.01")
        let box = UnsafeTransfer(socket)
        startThread { [stopping, finished] in
            ZAPHandler.serve(box.value, logger: logger, policy: policy, stopping: stopping)
            box.value.close()
            finished.raise()
        }
    }

    /// Stops the handler thread and waits for it to close its socket.
    public func stop() {
        stopping.raise()
        finished.wait()
    }

    /// The request loop: poll with a timeout so `stop()` is noticed.
    private static func serve(_ socket: ZMQSocket, logger: Logger, policy: Policy, stopping: Flag) {
        while !stopping.isRaised {
            guard Poller.wait(for: [socket], timeoutMs: 100).first == true else { continue }
            guard let request = try? socket.receive(maxFrames: 8) else { continue }
            let reply = answer(request.frames, logger: logger, policy: policy)
            _ = try? socket.send(reply, wait: true)
        }
    }

    /// The six reply frames for one ZAP request.
    static func answer(_ frames: [[UInt8]], logger: Logger, policy: Policy) -> [[UInt8]] {
        // Request frames: version, request id, domain, address, identity, mechanism, credentials…
        guard frames.count >= 6, String(decoding: frames[0], as: UTF8.self) == "1.0" else {
            return reply(requestID: frames.count > 1 ? frames[1] : [], status: "500", text: "bad ZAP request", userID: "")
        }
        let requestID = frames[1]
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        guard mechanism == "CURVE", frames.count >= 7, let key = try? CurvePublicKey(bytes: frames[6]) else {
            logger.warning("connection refused: not CURVE", metadata: ["peer.address": "\(address)", "mechanism": "\(mechanism)"])
            return reply(requestID: requestID, status: "400", text: "CURVE required", userID: "")
        }
        guard policy(key) else {
            logger.warning("connection refused: unknown agent key", metadata: ["peer.address": "\(address)", "agent.key": "\(key)"])
            return reply(requestID: requestID, status: "400", text: "unknown key", userID: "")
        }
        logger.debug("connection admitted", metadata: ["peer.address": "\(address)", "agent.key": "\(key)"])
        return reply(requestID: requestID, status: "200", text: "OK", userID: key.z85)
    }

    private static func reply(requestID: [UInt8], status: String, text: String, userID: String) -> [[UInt8]] {
        [Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8), Array(userID.utf8), []]
    }
}

/// Moves a non-Sendable value to the one thread that will own it from then on.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
