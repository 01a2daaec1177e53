import SnapfleetCore
import SnapfleetProtocol

/// A one-shot client for a local socket: send one request, wait for its reply.
///
/// Operator commands use it against the controller's admin socket.
public enum LocalClient {
    /// Sends `message` to the server at `socketPath` and returns the reply's message; an error
    /// reply is thrown as its `SnapfleetError`.
    public static func call(_ message: Message, socketPath: String, timeout: Duration) throws(SnapfleetError) -> Message {
        let context = try ZMQContext()
        let socket = try Sockets.localDealer(context, path: socketPath)
        defer { socket.close() }
        let request = Envelope(message)
        try socket.send([WireCodec.encode(request)], wait: true)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let remaining = deadline - ContinuousClock.now
            guard Poller.wait(for: [socket], timeoutMs: Int(remaining.components.seconds * 1000) + 10).first == true,
                let received = try socket.receive(maxFrames: ProtocolLimits.maxFrames), let frame = received.frames.first
            else { continue }
            let reply: Envelope
            do { reply = try WireCodec.decode(frame) } catch { throw error.error }
            guard reply.inReplyTo == request.id else { continue }
            if case .error(let body) = reply.message { throw body.snapfleetError }
            return reply.message
        }
        throw SnapfleetError(.timeout, "no reply from \(socketPath) in time", retryable: true)
    }
}
