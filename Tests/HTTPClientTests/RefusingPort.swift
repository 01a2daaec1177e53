import Foundation

/// A TCP port on 127.0.0.1 that is bound but never listens, so connecting to it is refused;
/// holding the socket keeps any other process from taking the port during the test.
final class RefusingPort {
    let port: Int
    private let socketDescriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        socketDescriptor = descriptor
        guard descriptor >= 0, bound else {
            throw TestSetupError(message: "cannot bind a socket on 127.0.0.1: errno \(errno)")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socketDescriptor) }
}

/// Test set-up (a socket bind) failed.
struct TestSetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
