import CZeroMQ

/// `zmq_poll` over sockets and plain file descriptors.
enum Poller {
    /// Waits until any socket is readable or the timeout passes; returns readability per socket.
    static func wait(for sockets: [ZMQSocket], fds: [Int32] = [], timeoutMs: Int) -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        items += fds.map { zmq_pollitem_t(socket: nil, fd: $0, events: Int16(ZMQ_POLLIN), revents: 0) }
        // EINTR (a signal) just ends this wait early; callers loop.
        _ = zmq_poll(&items, Int32(items.count), timeoutMs)
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
