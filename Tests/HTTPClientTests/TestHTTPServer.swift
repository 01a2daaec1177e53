import Foundation
import TestSupport

/// A real HTTP/1.1 server on 127.0.0.1 (Python's `http.server`), started per test.
///
/// It echoes each request as JSON (method, path, headers in order, body length and SHA-256,
/// client port), stores `PUT /files/<name>` and serves `GET`/`HEAD`/`DELETE` of it,
/// answers `/status/<code>` with that status and a small XML body, and waits 5 s on `/slow`.
final class TestHTTPServer {
    let directory: TemporaryDirectory
    let port: Int
    private let process: Process

    /// `http://127.0.0.1:<port>`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Where `PUT /files/<name>` stores its bodies.
    func storedFile(_ name: String) -> String { directory.file("files/\(name)") }

    /// Starts the server on a port the kernel picks and waits until it listens.
    init() throws {
        directory = try TemporaryDirectory(prefix: "http")
        try FileManager.default.createDirectory(atPath: directory.file("files"), withIntermediateDirectories: true)
        try Self.script.write(toFile: directory.file("server.py"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory.file("server.py"), directory.file("files"), directory.file("port")]
        try process.run()
        guard let port = Self.waitForPort(file: directory.file("port"), process: process) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestSetupError(message: "test http server did not start")
        }
        self.process = process
        self.port = port
    }

    /// Stops the server.
    ///
    /// SIGKILL, not `terminate()`: the child inherits the test runner's blocked signal mask,
    /// so a SIGTERM would stay pending forever and `waitUntilExit` would hang.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The server writes its port (atomically, by rename) once it is bound and listening.
    private static func waitForPort(file: String, process: Process) -> Int? {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let port = Int(text) { return port }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    private static let script = #"""
        import hashlib, http.server, json, os, sys, time

        root, port_file = sys.argv[1], sys.argv[2]

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is observable

            def log_message(self, *args):
                pass

            def read_body(self):
                remaining = int(self.headers.get("Content-Length") or 0)
                chunks = []
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    remaining -= len(chunk)
                return b"".join(chunks)

            def reply(self, status, payload=b"", content_type="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Echo-Server", "yes")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def echo(self, body, status=200):
                info = {
                    "method": self.command,
                    "path": self.path,
                    "headers": [[name, value] for name, value in self.headers.items()],
                    "body_length": len(body),
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                    "client_port": self.client_address[1],
                }
                self.reply(status, json.dumps(info).encode())

            def handle_any(self):
                body = self.read_body()
                path = self.path.split("?")[0]
                if path.startswith("/slow"):
                    time.sleep(5)
                    return self.echo(body)
                if path.startswith("/status/"):
                    return self.reply(int(path.split("/")[2]), b"<Error><Code>Test</Code></Error>", "application/xml")
                if path.startswith("/files/"):
                    return self.files(os.path.join(root, os.path.basename(path)), body)
                return self.echo(body)

            def files(self, target, body):
                if self.command == "PUT":
                    with open(target, "wb") as f:
                        f.write(body)
                    return self.echo(body, 201)
                if not os.path.exists(target):
                    return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
                if self.command == "DELETE":
                    os.remove(target)
                    return self.reply(204)
                with open(target, "rb") as f:
                    return self.reply(200, f.read(), "application/octet-stream")

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A client that aborts on purpose (a body limit, a timeout) is not news.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        server = Server(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#
}

/// What the server echoes for a request.
struct Echo: Decodable {
    var method: String
    var path: String
    var headers: [[String]]
    var bodyLength: Int
    var bodySha256: String
    var clientPort: Int

    enum CodingKeys: String, CodingKey {
        case method, path, headers
        case bodyLength = "body_length"
        case bodySha256 = "body_sha256"
        case clientPort = "client_port"
    }

    /// The first value of header `name`, any case.
    func header(_ name: String) -> String? {
        headers.first { $0[0].lowercased() == name.lowercased() }?[1]
    }

    /// The header names in order, lowercased.
    var headerNames: [String] { headers.map { $0[0].lowercased() } }
}

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

/// Test set-up (server start, socket bind) failed.
struct TestSetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
