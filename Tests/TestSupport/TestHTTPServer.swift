import Foundation
import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 (Python's `http.server`), started per test: an echo
/// server for the HTTP client's tests and a small object store for the agent's WAL tests.
///
/// - `/objects/<key>` behaves like S3 for one-object presigned URLs (the query is ignored):
///   `PUT` stores the body (checking `Content-MD5` when sent: 400 `BadDigest`) and answers 412
///   when `If-None-Match: *` meets an existing object; `GET` and `HEAD` answer 200 with an
///   `ETag` of the body's MD5, or 404 `NoSuchKey`; `DELETE` removes it.
/// - `PUT /files/<name>` stores the body by its last path component, served back by `GET`,
///   `HEAD` and `DELETE`.
/// - `/status/<code>` answers that status with a small XML body; `/slow` waits 5 s; any other
///   path echoes the request as JSON (`Echo`).
///
/// Every request is recorded (`requests`) before it is answered, and faults (`inject`) can
/// replace or damage the answers to chosen requests.
public final class TestHTTPServer: Sendable {
    /// The server's working directory (its script, stores, log); tests may put files in it.
    public let directory: TemporaryDirectory
    /// The port the server listens on.
    public let port: Int
    private let pid: pid_t
    private let stopped = Mutex(false)
    private let faults = Mutex<[[String: any Sendable]]>([])

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Where `PUT /files/<name>` stores its bodies.
    public func storedFile(_ name: String) -> String { directory.file("files/\(name)") }

    /// The URL of object `key` (`/objects/<key>`), with `query` appended when given.
    public func objectURL(_ key: String, query: String? = nil) -> String {
        "\(baseURL)/objects/\(key)" + (query.map { "?\($0)" } ?? "")
    }

    /// The path part of `objectURL(key)`, as `requests` records it.
    public func objectPath(_ key: String) -> String { "/objects/\(key)" }

    /// The bytes stored under `key`, or nil when there is no such object.
    public func object(_ key: String) -> [UInt8]? {
        (try? Data(contentsOf: URL(fileURLWithPath: directory.file("objects/\(key)")))).map { Array($0) }
    }

    /// Stores `bytes` under `key` directly (set-up: an archive that already holds a file).
    public func putObject(_ key: String, _ bytes: [UInt8]) throws {
        let path = directory.file("objects/\(key)")
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The keys of every stored object, sorted.
    public func objectKeys() -> [String] {
        let root = directory.file("objects")
        let all = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        return all.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    /// Starts the server on a port the kernel picks and waits until it listens.
    public init() throws {
        directory = try TemporaryDirectory(prefix: "http")
        for name in ["files", "objects", "uploads"] {
            try FileManager.default.createDirectory(atPath: directory.file(name), withIntermediateDirectories: true)
        }
        try Self.script.write(toFile: directory.file("server.py"), atomically: true, encoding: .utf8)
        let portFile = directory.file("port")
        // posix_spawn, not Foundation.Process: see `ChildProcess`.
        let pid = try ChildProcess.spawn(
            [
                "python3", directory.file("server.py"), directory.file("files"), portFile, directory.file("objects"),
                directory.file("uploads"), directory.file("faults.json"), directory.file("requests.jsonl"),
            ], logPath: directory.file("server.log"))
        var listening: Int?
        _ = eventually(timeout: .seconds(15), poll: .milliseconds(20)) {
            listening = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            return listening != nil || ChildProcess.exitStatus(of: pid, wait: false) != nil
        }
        guard let listening else {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
            let log = (try? String(contentsOfFile: directory.file("server.log"), encoding: .utf8)) ?? ""
            throw CommandFailed(
                command: ["python3", "server.py"], output: ProcessOutput(status: -1, stdout: "", stderr: "test http server did not start: \(log)"))
        }
        self.pid = pid
        port = listening
    }

    /// Stops the server (again is harmless).
    ///
    /// SIGKILL, not SIGTERM: the child inherits the test runner's blocked signal mask, so a
    /// SIGTERM would stay pending forever.
    public func stop() {
        let already = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !already else { return }
        kill(pid, SIGKILL)
        _ = ChildProcess.exitStatus(of: pid, wait: true)
    }

    deinit { stop() }

    // MARK: - Faults

    /// What the server does instead of (or to) its normal answer.
    public enum Fault: Sendable {
        /// Answers this status with a small S3-style error document, doing nothing else.
        case status(Int)
        /// Reads the request and closes the connection without answering or doing anything.
        case drop
        /// Does what the request asks (a PUT is stored) but closes the connection instead of answering.
        case dropAnswer
        /// Answers normally but sends only the first half of the body, then closes the connection.
        case truncate
        /// Waits this long, then answers normally.
        case delay(Duration)
    }

    /// Applies `fault` to the next `times` requests (every one when nil) whose method is
    /// `method` (any when nil) and whose path starts with `pathPrefix`. Faults are tried in the
    /// order they were injected; the first that matches and has uses left applies.
    public func inject(_ fault: Fault, method: String? = nil, pathPrefix: String = "/", times: Int? = 1) throws {
        var rule: [String: any Sendable] = ["id": UUID().uuidString, "path_prefix": pathPrefix]
        if let method { rule["method"] = method }
        if let times { rule["times"] = times }
        switch fault {
        case .status(let status): rule.merge(["action": "status", "status": status]) { $1 }
        case .drop: rule["action"] = "drop"
        case .dropAnswer: rule["action"] = "drop_answer"
        case .truncate: rule["action"] = "truncate"
        case .delay(let duration):
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            rule.merge(["action": "delay", "seconds": seconds]) { $1 }
        }
        let rules = faults.withLock { faults in
            faults.append(rule)
            return faults
        }
        try writeFaults(rules)
    }

    /// Removes every injected fault.
    public func clearFaults() throws {
        faults.withLock { $0.removeAll() }
        try writeFaults([])
    }

    /// The server re-reads this file (written whole, by rename) whenever it changes; it counts each fault's uses by its id.
    private func writeFaults(_ rules: [[String: any Sendable]]) throws {
        let file = directory.file("faults.json")
        let data = try JSONSerialization.data(withJSONObject: rules)
        try data.write(to: URL(fileURLWithPath: file + ".new"))
        guard rename(file + ".new", file) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    // MARK: - What was asked

    /// One request as the server saw it, recorded before it was answered.
    public struct Request: Decodable, Sendable {
        /// `GET`, `PUT`, …
        public var method: String
        /// The path, without the query.
        public var path: String
        /// The query (after `?`), empty when there was none.
        public var query: String
        /// The request's headers, in order, as name-value pairs.
        public var headers: [[String]]
        /// How many bytes of body arrived.
        public var bodyLength: Int
        /// Requests being handled when this one arrived, itself included.
        public var inFlight: Int
        /// The status answered (or begun, for a truncated body); nil when the connection was closed instead.
        public var status: Int?
        /// The fault applied (`status`, `drop`, `drop_answer`, `truncate`, `delay`), if any.
        public var fault: String?

        enum CodingKeys: String, CodingKey {
            case method, path, query, headers, status, fault
            case bodyLength = "body_length"
            case inFlight = "in_flight"
        }

        /// The first value of header `name`, any case.
        public func header(_ name: String) -> String? {
            headers.first { $0[0].lowercased() == name.lowercased() }?[1]
        }
    }

    /// Every request so far, in the order they were answered.
    public var requests: [Request] {
        guard let text = try? String(contentsOfFile: directory.file("requests.jsonl"), encoding: .utf8) else { return [] }
        // Only whole lines: the server may be writing the last one.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        return lines.compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    /// The requests with this method and exactly this path.
    public func requests(_ method: String, _ path: String) -> [Request] {
        requests.filter { $0.method == method && $0.path == path }
    }

    // MARK: - The server

    private static let script = #"""
        import base64, hashlib, http.server, json, os, sys, threading, time

        root, port_file, objects, uploads, fault_file, request_log = sys.argv[1:7]
        lock = threading.Lock()
        state = {"in_flight": 0, "fault_text": None, "faults": [], "used": {}}

        def take_fault(method, path):
            """The first injected fault matching the request with uses left (one use taken), or None."""
            with lock:
                try:
                    with open(fault_file) as f:
                        text = f.read()
                except FileNotFoundError:
                    text = "[]"
                if text != state["fault_text"]:
                    state["fault_text"], state["faults"] = text, json.loads(text)
                for fault in state["faults"]:
                    if fault.get("method", method) != method or not path.startswith(fault["path_prefix"]):
                        continue
                    used = state["used"].get(fault["id"], 0)
                    if "times" in fault and used >= fault["times"]:
                        continue
                    state["used"][fault["id"]] = used + 1
                    return fault
            return None

        def record(entry):
            with lock:
                with open(request_log, "a") as f:
                    f.write(json.dumps(entry) + "\n")

        def error_document(code):
            return ("<Error><Code>%s</Code></Error>" % code).encode()

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

            def reply(self, status, payload=b"", content_type="application/json", headers=()):
                self.entry["status"] = status
                if self.action == "drop_answer":
                    self.entry["status"] = None
                    record(self.entry)
                    self.close_connection = True
                    return
                record(self.entry)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Echo-Server", "yes")
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if self.action == "truncate":
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
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
                with lock:
                    state["in_flight"] += 1
                    in_flight = state["in_flight"]
                try:
                    body = self.read_body()
                    path, _, query = self.path.partition("?")
                    self.entry = {
                        "method": self.command, "path": path, "query": query, "body_length": len(body), "in_flight": in_flight,
                        "headers": [[name, value] for name, value in self.headers.items()],
                    }
                    fault = take_fault(self.command, path)
                    self.action = fault["action"] if fault else None
                    if fault:
                        self.entry["fault"] = self.action
                    if self.action == "delay":
                        time.sleep(fault["seconds"])
                    if self.action == "drop":
                        self.entry["status"] = None
                        record(self.entry)
                        self.close_connection = True
                        return
                    if self.action == "status":
                        return self.reply(fault["status"], error_document("InjectedFault"), "application/xml")
                    self.route(path, body)
                finally:
                    with lock:
                        state["in_flight"] -= 1

            def route(self, path, body):
                if path.startswith("/slow"):
                    time.sleep(5)
                    return self.echo(body)
                if path.startswith("/status/"):
                    return self.reply(int(path.split("/")[2]), error_document("Test"), "application/xml")
                if path.startswith("/files/"):
                    return self.files(os.path.join(root, os.path.basename(path)), body)
                if path.startswith("/objects/"):
                    return self.objects(path[len("/objects/"):], body)
                return self.echo(body)

            def files(self, target, body):
                if self.command == "PUT":
                    with open(target, "wb") as f:
                        f.write(body)
                    return self.echo(body, 201)
                if not os.path.exists(target):
                    return self.reply(404, error_document("NoSuchKey"), "application/xml")
                if self.command == "DELETE":
                    os.remove(target)
                    return self.reply(204)
                with open(target, "rb") as f:
                    return self.reply(200, f.read(), "application/octet-stream")

            def objects(self, key, body):
                if any(part in ("", ".", "..") for part in key.split("/")):
                    return self.reply(400, error_document("InvalidKey"), "application/xml")
                target = os.path.join(objects, key)
                if self.command == "PUT":
                    digest = hashlib.md5(body)
                    sent = self.headers.get("Content-MD5")
                    if sent is not None and sent != base64.b64encode(digest.digest()).decode():
                        return self.reply(400, error_document("BadDigest"), "application/xml")
                    # Written aside and renamed, checked and stored under the lock: If-None-Match is atomic, as in S3.
                    upload = os.path.join(uploads, str(threading.get_ident()))
                    with open(upload, "wb") as f:
                        f.write(body)
                    with lock:
                        taken = self.headers.get("If-None-Match") == "*" and os.path.exists(target)
                        if not taken:
                            os.makedirs(os.path.dirname(target), exist_ok=True)
                            os.rename(upload, target)
                    if taken:
                        os.remove(upload)
                        return self.reply(412, error_document("PreconditionFailed"), "application/xml")
                    return self.reply(200, headers=[("ETag", '"%s"' % digest.hexdigest())])
                if not os.path.isfile(target):
                    return self.reply(404, error_document("NoSuchKey"), "application/xml")
                if self.command == "DELETE":
                    os.remove(target)
                    return self.reply(204)
                with open(target, "rb") as f:
                    data = f.read()
                etag = '"%s"' % hashlib.md5(data).hexdigest()
                return self.reply(200, data, "application/octet-stream", headers=[("ETag", etag)])

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

/// What the server echoes for a request to a path it does not otherwise serve.
public struct Echo: Decodable, Sendable {
    /// The request's method.
    public var method: String
    /// The path, query included.
    public var path: String
    /// The request's headers, in order, as name-value pairs.
    public var headers: [[String]]
    /// How many bytes of body arrived.
    public var bodyLength: Int
    /// The body's SHA-256, in hex.
    public var bodySha256: String
    /// The client's TCP port: the same on a kept-alive connection.
    public var clientPort: Int

    enum CodingKeys: String, CodingKey {
        case method, path, headers
        case bodyLength = "body_length"
        case bodySha256 = "body_sha256"
        case clientPort = "client_port"
    }

    /// The first value of header `name`, any case.
    public func header(_ name: String) -> String? {
        headers.first { $0[0].lowercased() == name.lowercased() }?[1]
    }

    /// The header names in order, lowercased.
    public var headerNames: [String] { headers.map { $0[0].lowercased() } }
}
