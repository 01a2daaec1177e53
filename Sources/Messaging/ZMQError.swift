import CZeroMQ
import SnapfleetCore

/// Turns the ZeroMQ error of the call that just failed into a `SnapfleetError`.
///
/// `zmq_errno()` is read here, right after the failing call, and nowhere else.
func zmqFailure(_ operation: String) -> SnapfleetError {
    let number = zmq_errno()
    let text = String(cString: zmq_strerror(number))
    return SnapfleetError(.ioError, "zmq \(operation) failed: \(text.lowercased())", retryable: number == EAGAIN || number == EINTR)
}

/// The errno of the last ZeroMQ call, for loops that must tell EAGAIN and EINTR apart.
func zmqErrno() -> Int32 { zmq_errno() }
