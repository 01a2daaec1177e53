import Logging
import ProgramSupport
import SnapfleetCore
import Synchronization
import TestSupport
import Testing

@Suite("MetricsHTTPServer: GET /metrics on a real socket, nothing else", .serialized)
struct MetricsHTTPServerTests {
    /// `curl` against the server: the status code, then the headers and body.
    func fetch(_ url: String, method: String = "GET") throws -> ProcessOutput {
        try Shell.run(["curl", "-s", "-i", "-X", method, "--max-time", "10", url])
    }

    @Test("GET /metrics answers the rendered page as text/plain version 0.0.4, rendered anew for each scrape")
    func servesMetrics() throws {
        let port = freeTCPPort()
        let scrapes = Mutex(0)
        let server = try MetricsHTTPServer(address: try #require(MetricsAddress("127.0.0.1:\(port)")), logger: Logger(label: "test")) {
            let count = scrapes.withLock { count in
                count += 1
                return count
            }
            return "scrapes \(count)\n"
        }
        defer { server.stop() }
        let first = try fetch("http://127.0.0.1:\(port)/metrics")
        #expect(first.stdout.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(first.stdout)")
        #expect(first.stdout.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(first.stdout.hasSuffix("\r\n\r\nscrapes 1\n"))
        #expect(try fetch("http://127.0.0.1:\(port)/metrics").stdout.hasSuffix("scrapes 2\n"))
    }

    @Test("another path is 404, another method 405, and after stop() the port refuses connections")
    func refusesTheRest() throws {
        let port = freeTCPPort()
        let server = try MetricsHTTPServer(address: try #require(MetricsAddress("127.0.0.1:\(port)")), logger: Logger(label: "test")) { "x 1\n" }
        #expect(try fetch("http://127.0.0.1:\(port)/").stdout.hasPrefix("HTTP/1.1 404 Not Found"))
        #expect(try fetch("http://127.0.0.1:\(port)/metrics", method: "POST").stdout.hasPrefix("HTTP/1.1 405"))
        server.stop()
        #expect(try fetch("http://127.0.0.1:\(port)/metrics").status != 0)
    }

    @Test("metrics_listen must be an IPv4 address and a port", arguments: ["localhost:9464", "127.0.0.1", "127.0.0.1:0", "[::1]:9464", "1.2.3:80"])
    func refusesBadAddresses(text: String) {
        #expect(MetricsAddress(text) == nil)
    }

    @Test("a port already taken is an error naming the address")
    func portTaken() throws {
        let port = freeTCPPort()
        let address = try #require(MetricsAddress("127.0.0.1:\(port)"))
        let first = try MetricsHTTPServer(address: address, logger: Logger(label: "test")) { "" }
        defer { first.stop() }
        #expect(throws: SnapfleetError.self) { try MetricsHTTPServer(address: address, logger: Logger(label: "test")) { "" } }
    }
}
