import Logging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Owns a set of ZeroMQ sockets on one dedicated thread and turns them into typed messages.
///
/// ZeroMQ sockets are not thread-safe, so only the loop's thread touches them; other
/// threads hand it outgoing messages through a queue and wake it through a pipe.
/// Requests are correlated with replies by id and peer, and time out; inbound frames that are not
/// valid protocol messages are logged and answered with an error, never passed on.
public final class MessageLoop: Sendable {
    /// Called on the loop's thread for every valid inbound message that is not a reply to
    /// one of this loop's own requests. It must not block: long work goes elsewhere.
    public typealias Handler = @Sendable (Inbound) -> Void

    private let logger: Logger
    private let state = Mutex(LoopState())
    /// The read and write ends of the wake-up pipe (polled next to the sockets).
    private let wakeFDs: (read: Int32, write: Int32)
    private let started = Flag()
    private let stopped = Flag()
    private let finished = Flag()
    /// Messages received and queued for sending since the loop was made (for metrics).
    private let traffic = Mutex((received: 0, sent: 0))

    /// Creates a loop; add sockets and timers, then `start()`.
    public init(logger: Logger) {
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "cannot create the message loop's wake-up pipe")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeFDs = (fds[0], fds[1])
    }

    deinit {
        close(wakeFDs.read)
        close(wakeFDs.write)
    }

    /// Hands a socket to the loop (before `start()`); from now on only the loop uses it.
    public func add(_ socket: ZMQSocket, isRouter: Bool, handler: @escaping Handler) -> SocketID {
        state.withLock { state in
            let id = SocketID(index: state.sockets.count)
            state.sockets.append(LoopSocket(socket: UnsafeTransfer(socket), isRouter: isRouter, handler: handler))
            return id
        }
    }

    /// Runs `action` on the loop's thread every `interval` (first after one interval).
    public func addTimer(every interval: Duration, _ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.timers.append(LoopTimer(interval: interval, due: .now + interval, action: action)) }
    }

    /// Starts the loop's thread.
    public func start() {
        started.raise()
        startThread { [self] in
            run()
            finished.raise()
        }
    }

    /// Stops the loop, closes its sockets and fails the requests still waiting.
    public func stop() {
        stopped.raise()
        guard started.isRaised else { return }
        wake()
        finished.wait()
    }

    /// Messages received, and sent (queued), since the loop was made.
    public var messageCounts: (received: Int, sent: Int) { traffic.withLock { $0 } }

    /// Queues a message for a peer (any thread).
    public func send(_ envelope: Envelope, to peer: Peer, attachments: [[UInt8]] = []) {
        traffic.withLock { $0.sent += 1 }
        state.withLock { $0.outbox.append(Outgoing(envelope: envelope, peer: peer, attachments: attachments)) }
        wake()
    }

    /// Sends a request and calls `completion` (on the loop's thread) with the reply, an
    /// error reply turned into its `SnapfleetError`, or `timeout`.
    public func request(
        _ message: Message, to peer: Peer, timeout: Duration, attachments: [[UInt8]] = [],
        completion: @escaping @Sendable (Result<Inbound, SnapfleetError>) -> Void
    ) {
        guard !stopped.isRaised else {
            return completion(.failure(SnapfleetError(.ioError, "message loop stopped", retryable: true)))
        }
        let envelope = Envelope(message)
        traffic.withLock { $0.sent += 1 }
        state.withLock { state in
            state.pending[envelope.id] = PendingRequest(deadline: .now + timeout, type: message.type, peer: peer, completion: completion)
            state.outbox.append(Outgoing(envelope: envelope, peer: peer, attachments: attachments))
        }
        wake()
    }

    /// Fails every request still waiting for a reply from `peer` (a peer known to be gone, whose
    /// replies would otherwise be awaited until each request's own timeout).
    public func failRequests(to peer: Peer, _ error: SnapfleetError) {
        let failed = state.withLock { state in
            let ids = state.pending.filter { $0.value.peer == peer }.map(\.key)
            return ids.compactMap { state.pending.removeValue(forKey: $0) }
        }
        for request in failed { request.completion(.failure(error)) }
    }

    /// Sends a request and waits for its reply (see the callback form).
    public func request(_ message: Message, to peer: Peer, timeout: Duration) async throws(SnapfleetError) -> Inbound {
        let result = await withCheckedContinuation { continuation in
            request(message, to: peer, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    private func wake() {
        // A full pipe already means "wake up": a failed write here loses nothing.
        var byte: UInt8 = 1
        _ = write(wakeFDs.write, &byte, 1)
    }

    // MARK: - The loop's thread

    private func run() {
        let (sockets, handlers) = state.withLock { state in
            (state.sockets.map { ($0.socket.value, $0.isRouter) }, state.sockets.map(\.handler))
        }
        while !stopped.isRaised {
            flushOutbox(sockets)
            let readable = Poller.wait(for: sockets.map(\.0), fds: [wakeFDs.read], timeoutMs: nextTimeoutMs())
            if readable.last == true { drainWakePipe() }
            for (index, (socket, isRouter)) in sockets.enumerated() where readable[index] {
                receiveAll(from: socket, id: SocketID(index: index), isRouter: isRouter, handler: handlers[index])
            }
            expireRequests()
            runDueTimers()
        }
        failAllPending()
        sockets.forEach { $0.0.close() }
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeFDs.read, &buffer, buffer.count) > 0 {}
    }

    /// How long poll may sleep: until the next timer or request deadline, at most one second.
    private func nextTimeoutMs() -> Int {
        let now = ContinuousClock.now
        let deadlines = state.withLock { state in
            state.timers.map(\.due) + state.pending.values.map(\.deadline)
        }
        guard let next = deadlines.min() else { return 1000 }
        let wait = max(.zero, min(next - now, .seconds(1)))
        return Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000) + 1
    }

    private func flushOutbox(_ sockets: [(ZMQSocket, Bool)]) {
        let outgoing = state.withLock { state in
            defer { state.outbox.removeAll() }
            return state.outbox
        }
        for item in outgoing { deliver(item, sockets: sockets) }
    }

    private func deliver(_ item: Outgoing, sockets: [(ZMQSocket, Bool)]) {
        let (socket, isRouter) = sockets[item.peer.socket.index]
        var frames = [WireCodec.encode(item.envelope)] + item.attachments
        if isRouter { frames.insert(item.peer.routingID ?? [], at: 0) }
        do {
            if try socket.send(frames) { return }
            failDelivery(item, SnapfleetError(.agentNotConnected, "peer is not keeping up (send queue full)", retryable: true))
        } catch {
            // With ZMQ_ROUTER_MANDATORY a peer that has gone away is EHOSTUNREACH, not a silent drop.
            failDelivery(item, SnapfleetError(.agentNotConnected, "peer is not connected", retryable: true))
        }
    }

    private func failDelivery(_ item: Outgoing, _ error: SnapfleetError) {
        logger.warning(
            "message not sent", metadata: ["message.type": "\(item.envelope.message.type.rawValue)", "peer": "\(item.peer)", "error": "\(error)"])
        let pending = state.withLock { $0.pending.removeValue(forKey: item.envelope.id) }
        pending?.completion(.failure(error))
    }

    private func receiveAll(from socket: ZMQSocket, id: SocketID, isRouter: Bool, handler: Handler) {
        // Bounded so one flooding peer cannot starve the other sockets and the timers.
        for _ in 0..<1000 {
            let received: ReceivedMessage?
            // A ROUTER's messages carry the sender's routing id as one extra frame.
            do { received = try socket.receive(maxFrames: ProtocolLimits.maxFrames + (isRouter ? 1 : 0)) } catch {
                logger.error("receive failed", metadata: ["error": "\(error)"])
                return
            }
            guard let received else { return }
            dispatch(received, socketID: id, isRouter: isRouter, handler: handler)
        }
    }

    private func dispatch(_ received: ReceivedMessage, socketID: SocketID, isRouter: Bool, handler: Handler) {
        traffic.withLock { $0.received += 1 }
        var frames = received.frames
        let peer = Peer(socket: socketID, routingID: isRouter ? frames.removeFirst() : nil)
        do {
            let inbound = try decode(frames, tooManyFrames: received.tooManyFrames, peer: peer, userID: received.userID)
            route(inbound, handler: handler)
        } catch {
            logger.warning("message refused", metadata: ["peer": "\(peer)", "error.code": "\(error.error.code.rawValue)", "error": "\(error.error)"])
            send(.error(replyingTo: error.requestID, error.error), to: peer)
        }
    }

    private func decode(_ frames: [[UInt8]], tooManyFrames: Bool, peer: Peer, userID: String?) throws(InboundError) -> Inbound {
        guard let first = frames.first else {
            throw InboundError(SnapfleetError(.malformedMessage, "message has no envelope frame"), requestID: nil)
        }
        let envelope = try WireCodec.decode(first)
        guard !tooManyFrames else {
            throw InboundError(SnapfleetError(.messageTooLarge, "message has more than \(ProtocolLimits.maxFrames) frames"), requestID: envelope.id)
        }
        return Inbound(peer: peer, userID: userID, envelope: envelope, attachments: Array(frames.dropFirst()))
    }

    /// Replies complete their request; everything else goes to the socket's handler.
    private func route(_ inbound: Inbound, handler: Handler) {
        guard let requestID = inbound.envelope.inReplyTo else { return handler(inbound) }
        // Only the peer a request went to may answer it: another peer that learnt or guessed the id
        // (an agent answering for another server's backup) is dropped like any stray reply.
        let pending = state.withLock { state -> PendingRequest? in
            guard state.pending[requestID]?.peer == inbound.peer else { return nil }
            return state.pending.removeValue(forKey: requestID)
        }
        guard let pending else {
            logger.info(
                "late or unsolicited reply dropped",
                metadata: ["message.type": "\(inbound.envelope.message.type.rawValue)", "peer": "\(inbound.peer)"])
            return
        }
        if case .error(let body) = inbound.envelope.message {
            pending.completion(.failure(body.snapfleetError))
        } else {
            pending.completion(.success(inbound))
        }
    }

    private func expireRequests() {
        let now = ContinuousClock.now
        let expired = state.withLock { state in
            let ids = state.pending.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { state.pending.removeValue(forKey: $0) }
        }
        for request in expired {
            request.completion(.failure(SnapfleetError(.timeout, "no reply to \(request.type.rawValue) in time", retryable: true)))
        }
    }

    private func runDueTimers() {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            state.timers.indices.filter { state.timers[$0].due <= now }.map { index in
                state.timers[index].due = now + state.timers[index].interval
                return state.timers[index].action
            }
        }
        due.forEach { $0() }
    }

    private func failAllPending() {
        let pending = state.withLock { state in
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for request in pending {
            request.completion(.failure(SnapfleetError(.ioError, "message loop stopped", retryable: true)))
        }
    }
}

/// The loop's shared state, behind its mutex.
private struct LoopState: Sendable {
    var sockets: [LoopSocket] = []
    var timers: [LoopTimer] = []
    var outbox: [Outgoing] = []
    var pending: [MessageID: PendingRequest] = [:]
}

private struct LoopSocket: Sendable {
    let socket: UnsafeTransfer<ZMQSocket>
    let isRouter: Bool
    let handler: MessageLoop.Handler
}

private struct LoopTimer: Sendable {
    let interval: Duration
    var due: ContinuousClock.Instant
    let action: @Sendable () -> Void
}

private struct Outgoing: Sendable {
    let envelope: Envelope
    let peer: Peer
    let attachments: [[UInt8]]
}

private struct PendingRequest: Sendable {
    let deadline: ContinuousClock.Instant
    let type: MessageType
    let peer: Peer
    let completion: @Sendable (Result<Inbound, SnapfleetError>) -> Void
}
