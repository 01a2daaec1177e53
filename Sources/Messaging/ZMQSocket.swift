import CZeroMQ
import SnapfleetCore

/// One ZeroMQ socket. Not thread-safe: it belongs to the one thread that uses it.
public final class ZMQSocket {
    /// The socket types snapfleet uses.
    public enum Kind: Int32 {
        /// The controller's socket: many peers, addressed by routing id.
        case router = 6
        /// An agent's (or operator's) socket: one peer, asynchronous requests.
        case dealer = 5
        /// Request/reply sockets of the ZAP handler.
        case reply = 4
    }

    let handle: UnsafeMutableRawPointer
    /// Keeps the context alive as long as the socket.
    private let context: ZMQContext
    private var closed = false

    /// Opens a socket with linger 0 (closing never blocks on unsent messages).
    public init(_ context: ZMQContext, _ kind: Kind) throws(SnapfleetError) {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else { throw zmqFailure("socket") }
        self.handle = handle
        self.context = context
        try setOption(ZMQ_LINGER, Int32(0))
    }

    /// Sets an integer option.
    public func setOption(_ option: Int32, _ value: Int32) throws(SnapfleetError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw zmqFailure("setsockopt(\(option))")
        }
    }

    /// Sets a 64-bit integer option (`ZMQ_MAXMSGSIZE`).
    public func setOption(_ option: Int32, _ value: Int64) throws(SnapfleetError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw zmqFailure("setsockopt(\(option))")
        }
    }

    /// Sets a string option (CURVE keys in Z85, ZAP domain).
    public func setOption(_ option: Int32, _ value: String) throws(SnapfleetError) {
        let bytes = Array(value.utf8)
        let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, bytes.count) }
        guard result == 0 else { throw zmqFailure("setsockopt(\(option))") }
    }

    /// Binds to an endpoint (`tcp://…`, `ipc://…`, `inproc://…`).
    public func bind(_ endpoint: String) throws(SnapfleetError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw zmqFailure("bind \(endpoint)") }
    }

    /// Connects to an endpoint; ZeroMQ reconnects by itself whenever the connection drops.
    public func connect(_ endpoint: String) throws(SnapfleetError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw zmqFailure("connect \(endpoint)") }
    }

    /// Sends a multipart message. Returns false if it would block (nothing was sent).
    @discardableResult
    public func send(_ frames: [[UInt8]], wait: Bool = false) throws(SnapfleetError) -> Bool {
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = wait ? 0 : ZMQ_DONTWAIT
            if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
            let result = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, frame.count, flags) }
            if result >= 0 { continue }
            // Only the first frame can fail with EAGAIN: once it is queued, the rest of the message follows.
            if index == 0, zmqErrno() == EAGAIN { return false }
            throw zmqFailure("send")
        }
        return true
    }

    /// Receives one whole multipart message if one is waiting (nil if none).
    ///
    /// `userID` is the ZAP-assigned identity of the sender (its CURVE public key), taken
    /// from the last frame's metadata. Messages with more than `maxFrames` frames are read
    /// to the end and reported as `tooManyFrames`.
    public func receive(maxFrames: Int) throws(SnapfleetError) -> ReceivedMessage? {
        var frames: [[UInt8]] = []
        var userID: String?
        var more = true
        while more {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            let flags: Int32 = frames.isEmpty ? ZMQ_DONTWAIT : 0
            if zmq_msg_recv(&message, handle, flags) < 0 {
                if frames.isEmpty, zmqErrno() == EAGAIN { return nil }
                throw zmqFailure("recv")
            }
            if frames.count < maxFrames {
                let size = zmq_msg_size(&message)
                let data = zmq_msg_data(&message)
                frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            }
            if let property = zmq_msg_gets(&message, "User-Id") { userID = String(cString: property) }
            more = zmq_msg_more(&message) != 0
            if more, frames.count == maxFrames { return drainRest(frames: frames, userID: userID) }
        }
        return ReceivedMessage(frames: frames, userID: userID, tooManyFrames: false)
    }

    /// Reads and discards the rest of an over-long message, keeping its first frames.
    private func drainRest(frames: [[UInt8]], userID: String?) -> ReceivedMessage {
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            if zmq_msg_recv(&message, handle, 0) < 0 { break }
        } while zmq_msg_more(&message) != 0
        return ReceivedMessage(frames: frames, userID: userID, tooManyFrames: true)
    }

    /// Waits up to `timeoutMs` for a message to arrive; returns whether one is waiting.
    public func waitReadable(timeoutMs: Int) -> Bool {
        Poller.wait(for: [self], timeoutMs: timeoutMs).first ?? false
    }

    /// Closes the socket now (it is also closed when released).
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    deinit { close() }
}

/// A multipart message as received.
public struct ReceivedMessage: Sendable {
    /// The frames (for a ROUTER socket the first is the sender's routing id).
    public var frames: [[UInt8]]
    /// The authenticated identity ZAP gave the sender, if any.
    public var userID: String?
    /// Whether the sender sent more frames than allowed (the extra ones were dropped).
    public var tooManyFrames: Bool
}
