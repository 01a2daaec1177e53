import Logging
import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// `HOST:PORT` with an IPv4 address, as `metrics_listen` gives it.
public struct MetricsAddress: Sendable, Equatable {
    /// The address, in network order as `sockaddr_in` wants it.
    let address: in_addr
    /// The port.
    public let port: UInt16
    /// As written.
    public let text: String

    /// Parses `127.0.0.1:9464`; nil when it is not an IPv4 address and a port.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        var address = in_addr()
        guard inet_pton(AF_INET, String(text[..<colon]), &address) == 1 else { return nil }
        self.address = address
        self.port = port
        self.text = text
    }

    /// Equal when written the same.
    public static func == (lhs: MetricsAddress, rhs: MetricsAddress) -> Bool { lhs.text == rhs.text }
}

/// A tiny HTTP/1.1 server for Prometheus scrapes: `GET /metrics` answers `render()` as the
/// text exposition format, anything else 404 or 405; one connection at a time, closed after
/// each answer. Scrapes are seconds apart, so no more is needed, and no library is pulled in.
public final class MetricsHTTPServer: Sendable {
    private let listener: Int32
    private let stopping = Flag()
    private let finished = Flag()

    /// Binds and listens on `address` and serves on a thread of its own until `stop()`.
    public init(address: MetricsAddress, logger: Logger, render: @escaping @Sendable () -> String) throws(SnapfleetError) {
        listener = try Self.listen(on: address)
        let (listener, stopping, finished) = (self.listener, self.stopping, self.finished)
        startThread {
            Self.serve(listener, stopping: stopping, logger: logger, render: render)
            finished.raise()
        }
        logger.info("metrics endpoint listening", metadata: ["metrics_listen": "\(address.text)"])
    }

    /// Stops accepting and closes the socket.
    public func stop() {
        stopping.raise()
        finished.wait()
        close(listener)
    }

    private static func listen(on address: MetricsAddress) throws(SnapfleetError) -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw SnapfleetError(.ioError, "metrics_listen: socket: \(String(cString: strerror(errno)))") }
        var reuse: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var endpoint = sockaddr_in()
        endpoint.sin_family = sa_family_t(AF_INET)
        endpoint.sin_port = address.port.bigEndian
        endpoint.sin_addr = address.address
        let bound = withUnsafePointer(to: &endpoint) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(socket, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw SnapfleetError(.ioError, "metrics_listen: cannot listen on \(address.text): \(reason)")
        }
        return socket
    }

    /// Accepts with a short poll, so that `stop()` is noticed within a quarter second.
    private static func serve(_ listener: Int32, stopping: Flag, logger: Logger, render: @Sendable () -> String) {
        while !stopping.isRaised {
            var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 250) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            answer(connection, render: render)
            close(connection)
        }
    }

    /// Reads the request head (8 KiB at most, 5 s at most) and writes the answer.
    private static func answer(_ connection: Int32, render: @Sendable () -> String) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let head = readHead(connection) else { return }
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ")
        let response: (status: String, type: String, body: String)
        if parts.count < 2 {
            response = ("400 Bad Request", "text/plain", "bad request\n")
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            response = ("405 Method Not Allowed", "text/plain", "only GET\n")
        } else if parts[1] != "/metrics" && !parts[1].hasPrefix("/metrics?") {
            response = ("404 Not Found", "text/plain", "metrics are at /metrics\n")
        } else {
            response = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", render())
        }
        let body = parts.first == "HEAD" ? "" : response.body
        let header =
            "HTTP/1.1 \(response.status)\r\nContent-Type: \(response.type)\r\nContent-Length: \(response.body.utf8.count)\r\nConnection: close\r\n\r\n"
        writeAll(connection, Array((header + body).utf8))
    }

    private static func readHead(_ connection: Int32) -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while bytes.count < 8192 {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            bytes += buffer.prefix(count)
            if let text = String(validating: bytes, as: UTF8.self), text.contains("\r\n\r\n") { return text }
        }
        return nil
    }

    private static func writeAll(_ connection: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }
}
