import SnapfleetCore
import SnapfleetProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// A one-shot client for a local socket: send one request, wait for its reply.
///
/// Operator commands use it against the controller's admin socket.
public enum LocalClient {
    /// Sends `message` to the server at `socketPath` and returns the reply's message; an error
    /// reply is thrown as its `SnapfleetError`. Notifications that arrive meanwhile (a backup's
    /// progress) go to `onNotification`.
    public static func call(
        _ message: Message, socketPath: String, timeout: Duration, onNotification: (Message) -> Void = { _ in }
    ) throws(SnapfleetError) -> Message {
        try exchange(message, socketPath: socketPath, timeout: timeout, onNotification: onNotification).message
    }

    /// Like `call`, and also returns the binary frames that followed the reply.
    public static func exchange(
        _ message: Message, socketPath: String, timeout: Duration, onNotification: (Message) -> Void = { _ in }
    ) throws(SnapfleetError) -> (message: Message, attachments: [[UInt8]]) {
        let context = try ZMQContext()
        let socket = try Sockets.localDealer(context, path: socketPath)
        defer { socket.close() }
        let request = Envelope(message)
        let frame = WireCodec.encode(request)
        let server = socketIdentity(socketPath)
        try socket.send([frame], wait: true)
        var lastSent = ContinuousClock.now
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let remaining = deadline - ContinuousClock.now
            let waitMs = min(1000, Int(remaining.components.seconds * 1000) + 10)
            guard Poller.wait(for: [socket], timeoutMs: waitMs).first == true else {
                // A server that died (or was replaced) will never answer: say so now, not at the timeout.
                guard socketIdentity(socketPath) == server, LocalSocketProbe.isServed(socketPath) else {
                    throw SnapfleetError(.ioError, "the server on \(socketPath) went away before answering", retryable: true)
                }
                // A server restarted between two looks holds no trace of the request: say it again now
                // and then (the local requests are idempotent; the first reply with its id wins).
                if ContinuousClock.now - lastSent > .seconds(10) {
                    _ = try socket.send([frame], wait: false)
                    lastSent = ContinuousClock.now
                }
                continue
            }
            guard let received = try socket.receive(maxFrames: ProtocolLimits.maxFrames), let frame = received.frames.first else { continue }
            let reply: Envelope
            do { reply = try WireCodec.decode(frame) } catch { throw error.error }
            guard reply.inReplyTo == request.id else {
                if reply.inReplyTo == nil, reply.message.type.kind == .notification {
                    lastSent = ContinuousClock.now  // the server is working on it: no need to say it again
                    onNotification(reply.message)
                }
                continue
            }
            if case .error(let body) = reply.message { throw body.snapfleetError }
            return (reply.message, Array(received.frames.dropFirst()))
        }
        throw SnapfleetError(.timeout, "no reply from \(socketPath) in time", retryable: true)
    }

    /// The socket file's device, inode and change time: a restarted server makes a new file (whose
    /// inode number may be the old one's again).
    private static func socketIdentity(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [Int(info.st_dev), Int(info.st_ino), info.st_ctim.tv_sec, info.st_ctim.tv_nsec]
    }
}
