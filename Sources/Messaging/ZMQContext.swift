import CZeroMQ
import SnapfleetCore

/// A ZeroMQ context: the owner of I/O threads and the namespace of `inproc://` endpoints.
public final class ZMQContext: @unchecked Sendable {
    // zmq contexts are thread-safe by design, unlike sockets: sharing this handle is fine.
    let handle: UnsafeMutableRawPointer

    /// Creates a context.
    public init() throws(SnapfleetError) {
        guard let handle = zmq_ctx_new() else { throw zmqFailure("ctx_new") }
        self.handle = handle
    }

    /// Ends the context; every socket must have been closed first (they use linger 0).
    deinit { zmq_ctx_term(handle) }
}
