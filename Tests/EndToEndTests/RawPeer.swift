import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol

/// A hand-driven socket for tests that must send frames no well-behaved peer would.
final class RawPeer {
    let socket: ZMQSocket
    /// For a ROUTER: the routing id of the one peer talked to.
    var routingID: [UInt8]?

    /// Whether the socket is a ROUTER (frames start with the peer's routing id).
    let isRouter: Bool

    init(_ socket: ZMQSocket, isRouter: Bool) {
        self.socket = socket
        self.isRouter = isRouter
    }

    /// Sends raw frames (prefixed with the routing id on a ROUTER).
    func sendRaw(_ frames: [[UInt8]]) throws {
        try socket.send((routingID.map { [$0] } ?? []) + frames, wait: true)
    }

    /// Sends an envelope.
    func send(_ envelope: Envelope) throws { try sendRaw([WireCodec.encode(envelope)]) }

    /// Receives the next decodable envelope within the timeout (skipping nothing else).
    func receive(timeout: Duration = .seconds(5)) throws -> Envelope? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard socket.waitReadable(timeoutMs: 50), let message = try socket.receive(maxFrames: 32) else { continue }
            var frames = message.frames
            if isRouter, frames.count > 1 { routingID = frames.removeFirst() }
            if let envelope = try? WireCodec.decode(frames[0]) { return envelope }
        }
        return nil
    }

    /// Receives until a reply to `id` arrives, dropping other messages.
    func reply(to id: MessageID, timeout: Duration = .seconds(10)) throws -> Envelope? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let envelope = try receive(timeout: deadline - ContinuousClock.now) else { return nil }
            if envelope.inReplyTo == id { return envelope }
        }
        return nil
    }

    /// Reads and counts whatever is waiting, without blocking.
    func drain() throws -> Int {
        var count = 0
        while socket.waitReadable(timeoutMs: 0), try socket.receive(maxFrames: 32) != nil { count += 1 }
        return count
    }
}
