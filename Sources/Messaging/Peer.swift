import SnapfleetProtocol

/// Identifies one socket added to a `MessageLoop`.
public struct SocketID: Hashable, Sendable {
    /// The socket's position in its loop.
    public let index: Int

    /// Names the loop's `index`-th socket.
    public init(index: Int) { self.index = index }
}

/// Where a message came from and where a reply goes: a socket, and on a ROUTER socket the
/// peer's routing id (ZeroMQ gives every connection its own).
public struct Peer: Hashable, Sendable, CustomStringConvertible {
    /// The socket the peer is connected to.
    public let socket: SocketID
    /// The peer's routing id on a ROUTER socket; nil on a DEALER socket.
    public let routingID: [UInt8]?

    /// Names a peer.
    public init(socket: SocketID, routingID: [UInt8]?) {
        self.socket = socket
        self.routingID = routingID
    }

    /// Hex of the routing id, for logs.
    public var description: String {
        guard let routingID else { return "peer" }
        return routingID.map { String($0, radix: 16) }.joined()
    }
}

/// A message received and decoded by a `MessageLoop`.
public struct Inbound: Sendable {
    /// Who sent it.
    public let peer: Peer
    /// The sender's authenticated CURVE public key (Z85), from ZAP; nil on unauthenticated sockets.
    public let userID: String?
    /// The message.
    public let envelope: Envelope
    /// Binary frames that followed the envelope.
    public let attachments: [[UInt8]]

    /// A received message (the loop makes these; tests too).
    public init(peer: Peer, userID: String?, envelope: Envelope, attachments: [[UInt8]]) {
        self.peer = peer
        self.userID = userID
        self.envelope = envelope
        self.attachments = attachments
    }
}
