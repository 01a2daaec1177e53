import CZeroMQ
import SnapfleetCore
import SnapfleetProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Timing of connection-level liveness, shared by both ends.
public struct ConnectionTiming: Sendable {
    /// ZMTP heartbeat interval: the agent's ping on an idle connection.
    public var heartbeatIntervalMs: Int32 = 2_000
    /// A connection whose peer has not answered a ping in this time is dropped (and re-dialled).
    public var heartbeatTimeoutMs: Int32 = 6_000
    /// First reconnect delay; doubles up to `reconnectMaxMs`.
    public var reconnectMs: Int32 = 250
    /// Longest reconnect delay.
    public var reconnectMaxMs: Int32 = 5_000
    /// Longest CURVE handshake.
    public var handshakeMs: Int32 = 10_000

    /// The defaults.
    public init() {}
}

/// Builds the sockets snapfleet uses, configured the one right way.
public enum Sockets {
    /// The controller's agent-facing socket: a CURVE server ROUTER, bound after ZAP is running.
    ///
    /// `zapHandler` is taken to prove that the authentication handler exists before bind.
    public static func curveRouter(
        _ context: ZMQContext, keys: CurveKeyPair, endpoint: String, zapHandler: ZAPHandler, timing: ConnectionTiming = .init()
    ) throws(SnapfleetError) -> ZMQSocket {
        try checkTCP(endpoint)
        let socket = try ZMQSocket(context, .router)
        try socket.setOption(ZMQ_CURVE_SERVER, Int32(1))
        try socket.setOption(ZMQ_CURVE_SECRETKEY, keys.secretKey.value)
        // A non-empty ZAP domain makes ZeroMQ consult the handler for every connection.
        try socket.setOption(ZMQ_ZAP_DOMAIN, "snapfleet")
        // Report EHOSTUNREACH for a peer that has gone instead of dropping the message silently.
        try socket.setOption(ZMQ_ROUTER_MANDATORY, Int32(1))
        // No ZMTP pings of its own: each agent pings every `heartbeatIntervalMs` with a TTL of
        // `heartbeatTimeoutMs`, which makes this side drop a silent connection just as soon.
        // libzmq cancels a connection's ping timer by walking every timer of its I/O thread, so a
        // controller pinging 1,000 agents spent a third of a core on that walk alone.
        try applyCommon(socket, timing: timing)
        try socket.bind(endpoint)
        return socket
    }

    /// An agent's socket: a CURVE client DEALER that authenticates the controller by its key.
    public static func curveDealer(
        _ context: ZMQContext, keys: CurveKeyPair, serverKey: CurvePublicKey, endpoint: String, timing: ConnectionTiming = .init()
    ) throws(SnapfleetError) -> ZMQSocket {
        try checkTCP(endpoint)
        let socket = try ZMQSocket(context, .dealer)
        try socket.setOption(ZMQ_CURVE_SERVERKEY, serverKey.z85)
        try socket.setOption(ZMQ_CURVE_PUBLICKEY, keys.publicKey.z85)
        try socket.setOption(ZMQ_CURVE_SECRETKEY, keys.secretKey.value)
        try socket.setOption(ZMQ_RECONNECT_IVL, timing.reconnectMs)
        try socket.setOption(ZMQ_RECONNECT_IVL_MAX, timing.reconnectMaxMs)
        try socket.setOption(ZMQ_HEARTBEAT_IVL, timing.heartbeatIntervalMs)
        try socket.setOption(ZMQ_HEARTBEAT_TIMEOUT, timing.heartbeatTimeoutMs)
        // The TTL the controller's side holds this connection to (it sends no pings itself).
        try socket.setOption(ZMQ_HEARTBEAT_TTL, timing.heartbeatTimeoutMs)
        try applyCommon(socket, timing: timing)
        try socket.connect(endpoint)
        return socket
    }

    /// A local ROUTER on a unix socket that only this user may open (mode 0600).
    ///
    /// Refuses to take over a socket another live process is serving.
    /// `owner` hands the socket file to that user (the agent's socket belongs to `postgres`,
    /// whose `archive_command` connects to it); still mode 0600, so no one else may connect.
    public static func localRouter(_ context: ZMQContext, path: String, owner: String? = nil) throws(SnapfleetError) -> ZMQSocket {
        try checkSocketPath(path)
        try makeSocketDirectory(path)
        if LocalSocketProbe.isServed(path) {
            throw SnapfleetError(.ioError, "\(path) is in use by another process", hint: "is another instance running?")
        }
        let socket = try ZMQSocket(context, .router)
        try socket.setOption(ZMQ_MAXMSGSIZE, Int64(ProtocolLimits.maxFrameBytes))
        // The umask makes the socket file 0600 from the moment it exists (no chmod race).
        let previous = umask(0o177)
        defer { umask(previous) }
        try socket.bind("ipc://\(path)")
        if let owner { try give(path, to: owner) }
        return socket
    }

    /// Creates the socket's directory (0755: other users may reach a socket whose own mode lets them).
    private static func makeSocketDirectory(_ path: String) throws(SnapfleetError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        guard !directory.isEmpty, access(directory, F_OK) != 0 else { return }
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw SnapfleetError(.ioError, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
    }

    private static func give(_ path: String, to user: String) throws(SnapfleetError) {
        guard let entry = getpwnam(user) else { throw SnapfleetError(.invalidConfiguration, "no user '\(user)' to own \(path)") }
        guard chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw SnapfleetError(.ioError, "cannot give \(path) to \(user): \(String(cString: strerror(errno)))")
        }
    }

    /// A client of a local socket (operator commands).
    public static func localDealer(_ context: ZMQContext, path: String) throws(SnapfleetError) -> ZMQSocket {
        try checkSocketPath(path)
        guard LocalSocketProbe.isServed(path) else {
            throw SnapfleetError(
                .ioError, "nothing is listening on \(path)",
                hint: "is the program that serves it (controller or agent) running with this configuration?", retryable: true)
        }
        let socket = try ZMQSocket(context, .dealer)
        try socket.setOption(ZMQ_MAXMSGSIZE, Int64(ProtocolLimits.maxFrameBytes))
        try socket.connect("ipc://\(path)")
        return socket
    }

    private static func applyCommon(_ socket: ZMQSocket, timing: ConnectionTiming) throws(SnapfleetError) {
        try socket.setOption(ZMQ_MAXMSGSIZE, Int64(ProtocolLimits.maxFrameBytes))
        try socket.setOption(ZMQ_HANDSHAKE_IVL, timing.handshakeMs)
    }

    /// Only TCP endpoints: every network connection must be CURVE-secured.
    private static func checkTCP(_ endpoint: String) throws(SnapfleetError) {
        guard endpoint.hasPrefix("tcp://"), endpoint.count > 6 else {
            throw SnapfleetError(.invalidConfiguration, "endpoint '\(endpoint)' must be tcp://HOST:PORT")
        }
    }

    private static func checkSocketPath(_ path: String) throws(SnapfleetError) {
        guard path.hasPrefix("/"), path.utf8.count < 100 else {
            throw SnapfleetError(.invalidConfiguration, "socket path '\(path)' must be absolute and shorter than 100 bytes")
        }
    }
}

/// Tells whether a process is accepting connections on a unix socket path.
enum LocalSocketProbe {
    /// Whether `connect()` to the path succeeds.
    static func isServed(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}
