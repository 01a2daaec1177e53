import Foundation
import HTTPClient
import SnapfleetCore
import TestSupport
import Testing

@Suite("HTTPConnection against a real local HTTP server")
struct HTTPConnectionTests {
    /// Decodes the server's JSON echo.
    func echo(_ response: HTTPResponse) throws -> Echo {
        try JSONDecoder().decode(Echo.self, from: Data(response.body))
    }

    /// `count` deterministic pseudo-random bytes (xorshift), so corruption cannot hide in a pattern.
    func pseudoRandomBytes(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    @Test("GET returns the status, headers with case-insensitive lookup, and the body")
    func get() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let response = try HTTPConnection().perform(HTTPRequest(method: .get, url: "\(server.baseURL)/hello?x=1"))
        #expect(response.status == 200)
        #expect(response.isSuccess)
        #expect(response.headers["x-echo-server"] == "yes")
        #expect(response.headers["X-ECHO-SERVER"] == "yes")
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.bodyWrittenToFile == false)
        let echo = try echo(response)
        #expect(echo.method == "GET")
        #expect(echo.path == "/hello?x=1")
        #expect(echo.bodyLength == 0)
    }

    @Test("PUT sends an in-memory body with its Content-Length and without Expect: 100-continue")
    func putBytes() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let body = pseudoRandomBytes(200_000)
        let response = try HTTPConnection().perform(HTTPRequest(method: .put, url: "\(server.baseURL)/files/blob", body: .bytes(body)))
        #expect(response.status == 201)
        let echo = try echo(response)
        #expect(echo.method == "PUT")
        #expect(echo.bodyLength == body.count)
        #expect(echo.header("Content-Length") == "\(body.count)")
        #expect(echo.header("Expect") == nil)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: server.storedFile("blob")))) == body)
    }

    @Test("PUT streams a 16 MiB file whose bytes arrive intact, and GET into a file brings them back")
    func putFileAndGetIntoFile() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let segment = Data(pseudoRandomBytes(16 << 20))
        let source = server.directory.file("000000010000000000000001")
        try segment.write(to: URL(fileURLWithPath: source))
        let client = try HTTPConnection()

        let put = try client.perform(HTTPRequest(method: .put, url: "\(server.baseURL)/files/wal", body: .file(path: source)))
        #expect(put.status == 201)
        #expect(try echo(put).header("Content-Length") == "\(16 << 20)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: server.storedFile("wal"))) == segment)

        let restored = server.directory.file("restored")
        let get = try client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/files/wal", responseBody: .file(path: restored)))
        #expect(get.status == 200)
        #expect(get.bodyWrittenToFile)
        #expect(get.body.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == segment)
        let mode = try FileManager.default.attributesOfItem(atPath: restored)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("GET into a file keeps a 404's error document in memory and creates no file")
    func notFoundIntoFile() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let target = server.directory.file("never")
        let response = try HTTPConnection().perform(
            HTTPRequest(method: .get, url: "\(server.baseURL)/files/missing", responseBody: .file(path: target)))
        #expect(response.status == 404)
        #expect(response.bodyWrittenToFile == false)
        #expect(response.text == "<Error><Code>NoSuchKey</Code></Error>")
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test("a streamed GET hands a 16 MiB body over in pieces; a 404 keeps its document; a consumer's error aborts")
    func streamedGet() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let segment = pseudoRandomBytes(16 << 20)
        let client = try HTTPConnection()
        _ = try client.perform(HTTPRequest(method: .put, url: "\(server.baseURL)/files/wal", body: .bytes(segment)))

        var received: [UInt8] = []
        var pieces = 0
        let get = try client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/files/wal")) { piece in
            received.append(contentsOf: piece)
            pieces += 1
        }
        #expect(get.status == 200 && get.body.isEmpty)
        #expect(received == segment)
        #expect(pieces > 1, "the body arrives in pieces, not as one buffer")

        let missing = try client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/files/missing")) { _ in
            Issue.record("a 404's body is not streamed")
        }
        #expect(missing.status == 404 && missing.text == "<Error><Code>NoSuchKey</Code></Error>")

        let error = #expect(throws: SnapfleetError.self) {
            try client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/files/wal")) { _ in throw SnapfleetError(.ioError, "disk full") }
        }
        #expect(error?.message.contains("disk full") == true)
    }

    @Test("HEAD returns the headers (Content-Length of the object) and no body")
    func head() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = try HTTPConnection()
        _ = try client.perform(HTTPRequest(method: .put, url: "\(server.baseURL)/files/obj", body: .bytes(Array(repeating: 7, count: 1234))))
        let response = try client.perform(HTTPRequest(method: .head, url: "\(server.baseURL)/files/obj"))
        #expect(response.status == 200)
        #expect(response.headers["Content-Length"] == "1234")
        #expect(response.body.isEmpty)
    }

    @Test("caller headers arrive exactly and in order; curl adds no Expect, Accept or Content-Type")
    func headersArriveExactly() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let headers: HTTPHeaders = [
            "X-Amz-Date": "20240101T000000Z",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, Signature=abc",
            "X-Empty": "",
            "X-Twice": "one",
            "X-Twice": "two",
        ]
        let response = try HTTPConnection().perform(
            HTTPRequest(method: .put, url: "\(server.baseURL)/files/h", headers: headers, body: .bytes([1, 2, 3])))
        let echo = try echo(response)
        let sent = echo.headers.filter { $0[0].lowercased().hasPrefix("x-") || $0[0] == "Authorization" }
        #expect(sent == headers.map { [$0.name, $0.value] })
        #expect(
            Set(echo.headerNames) == [
                "host", "user-agent", "content-length", "x-amz-date", "x-amz-content-sha256", "authorization", "x-empty", "x-twice",
            ])
        #expect(echo.header("User-Agent") == "snapfleet/\(snapfleetVersion)")
    }

    @Test("a caller's Content-Type replaces curl's, and a POST without one gets none")
    func contentType() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = try HTTPConnection()
        let plain = try echo(client.perform(HTTPRequest(method: .post, url: "\(server.baseURL)/post", body: .data(Data("a=b".utf8)))))
        #expect(plain.method == "POST")
        #expect(plain.bodyLength == 3)
        #expect(plain.header("Content-Type") == nil)
        let typed = try echo(
            client.perform(
                HTTPRequest(
                    method: .post, url: "\(server.baseURL)/post", headers: ["Content-Type": "application/xml"],
                    body: .bytes(Array("<x/>".utf8)))))
        #expect(typed.header("Content-Type") == "application/xml")
        let empty = try echo(client.perform(HTTPRequest(method: .post, url: "\(server.baseURL)/post?uploads")))
        #expect(empty.header("Content-Length") == "0")
        #expect(empty.path == "/post?uploads")
    }

    @Test("DELETE is sent as DELETE and its 204 returned")
    func delete() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = try HTTPConnection()
        _ = try client.perform(HTTPRequest(method: .put, url: "\(server.baseURL)/files/gone", body: .bytes([1])))
        let response = try client.perform(HTTPRequest(method: .delete, url: "\(server.baseURL)/files/gone"))
        #expect(response.status == 204)
        #expect(!FileManager.default.fileExists(atPath: server.storedFile("gone")))
    }

    @Test("404 and 500 statuses are returned as responses, not thrown", arguments: [404, 500, 503])
    func errorStatuses(status: Int) throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let response = try HTTPConnection().perform(HTTPRequest(method: .get, url: "\(server.baseURL)/status/\(status)"))
        #expect(response.status == status)
        #expect(!response.isSuccess)
        #expect(response.text == "<Error><Code>Test</Code></Error>")
    }

    @Test("successive requests on one client reuse one kept-alive connection")
    func keepAlive() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = try HTTPConnection()
        let first = try echo(client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/one")))
        let second = try echo(client.perform(HTTPRequest(method: .put, url: "\(server.baseURL)/two", body: .bytes([1, 2]))))
        let third = try echo(client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/three")))
        #expect(first.clientPort == second.clientPort)
        #expect(second.clientPort == third.clientPort)
        #expect(third.method == "GET")
        #expect(third.bodyLength == 0)
    }

    @Test("connection refused throws a retryable .httpError that shows scheme://host/path but no query")
    func connectionRefused() throws {
        let closed = try RefusingPort()
        let url = "http://127.0.0.1:\(closed.port)/bucket/wal/000000010000000000000001?X-Amz-Credential=AKID&X-Amz-Signature=s3cr3t"
        let error = try #require(throws: SnapfleetError.self) {
            try HTTPConnection().perform(HTTPRequest(method: .put, url: url, body: .bytes([1])))
        }
        #expect(error.code == .httpError)
        #expect(error.retryable)
        #expect(error.message.hasPrefix("http put http://127.0.0.1:\(closed.port)/bucket/wal/000000010000000000000001 failed: "))
        #expect(!error.description.contains("s3cr3t"))
        #expect(!error.description.contains("AKID"))
        #expect(!error.description.contains("?"))
        #expect(error.message.contains("curl error 7"))
    }

    @Test("a server slower than the total timeout throws a retryable .httpError")
    func timeout() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let started = ContinuousClock.now
        let error = try #require(throws: SnapfleetError.self) {
            try HTTPConnection().perform(
                HTTPRequest(method: .get, url: "\(server.baseURL)/slow?sig=secret", timeout: .milliseconds(500)))
        }
        #expect(ContinuousClock.now - started < .seconds(4))
        #expect(error.code == .httpError)
        #expect(error.retryable)
        #expect(error.message.contains("timed out"))
        #expect(!error.message.contains("secret"))
    }

    @Test("a missing upload file is an .ioError raised before anything is sent")
    func missingUploadFile() throws {
        let error = try #require(throws: SnapfleetError.self) {
            try HTTPConnection().perform(HTTPRequest(method: .put, url: "http://127.0.0.1:9/x", body: .file(path: "/nonexistent/wal")))
        }
        #expect(error.code == .ioError)
        #expect(error.message.contains("cannot open /nonexistent/wal"))
    }

    @Test("a header value with a line break is refused without printing the value")
    func headerInjection() throws {
        let error = try #require(throws: SnapfleetError.self) {
            try HTTPConnection().perform(
                HTTPRequest(method: .get, url: "http://127.0.0.1:9/x", headers: ["Authorization": "secret\r\nX-Evil: 1"]))
        }
        #expect(error.code == .httpError)
        #expect(error.message == "http header Authorization has a line break in its value")
    }

    @Test("a body larger than maxResponseBytes fails, non-retryable, instead of exhausting memory")
    func responseLimit() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let client = try HTTPConnection()
        _ = try client.perform(HTTPRequest(method: .put, url: "\(server.baseURL)/files/big", body: .bytes(Array(repeating: 1, count: 100_000))))
        let error = try #require(throws: SnapfleetError.self) {
            try client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/files/big", maxResponseBytes: 10_000))
        }
        #expect(error.code == .httpError)
        #expect(!error.retryable)
        #expect(error.message == "http get \(server.baseURL)/files/big failed: response body larger than 10000 bytes")
        // The connection stays usable after an aborted transfer.
        #expect(try client.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/after")).status == 200)
    }

    @Test("non-HTTP schemes are refused, non-retryable")
    func otherSchemes() throws {
        let error = try #require(throws: SnapfleetError.self) {
            try HTTPConnection().perform(HTTPRequest(method: .get, url: "file:///etc/passwd"))
        }
        #expect(error.code == .httpError)
        #expect(!error.retryable)
    }

    @Test("a GET with a body is refused")
    func getWithBody() throws {
        let error = try #require(throws: SnapfleetError.self) {
            try HTTPConnection().perform(HTTPRequest(method: .get, url: "http://127.0.0.1:9/x", body: .bytes([1])))
        }
        #expect(error.message == "http get request cannot carry a body")
    }
}
