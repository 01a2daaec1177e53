import Foundation
import HTTPClient
import SnapfleetCore
import TestSupport
import Testing

@Suite("HTTPConnectionPool against a real local HTTP server")
struct HTTPConnectionPoolTests {
    /// The client port the server saw for a GET on a connection from `pool`.
    func clientPort(_ pool: HTTPConnectionPool, _ server: TestHTTPServer) throws -> Int {
        let response = try pool.withConnection { connection throws(SnapfleetError) in
            do { return try connection.perform(HTTPRequest(method: .get, url: "\(server.baseURL)/port")) } catch {
                throw SnapfleetError(.httpError, "\(error)")
            }
        }
        return try JSONDecoder().decode(Echo.self, from: Data(response.body)).clientPort
    }

    @Test("requests one after another share one kept-alive connection")
    func reusesAnIdleConnection() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let pool = HTTPConnectionPool(maxIdle: 2)
        let ports = try (0..<5).map { _ in try clientPort(pool, server) }
        #expect(Set(ports).count == 1, "\(ports)")
        #expect(pool.idleCount == 1)
    }

    @Test("drain closes the idle connections: the next request opens a new one")
    func drainClosesIdleConnections() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let pool = HTTPConnectionPool(maxIdle: 2)
        let before = try clientPort(pool, server)
        pool.drain()
        #expect(pool.idleCount == 0)
        #expect(try clientPort(pool, server) != before)
    }

    @Test("a connection whose work threw is not kept; at most maxIdle are")
    func keepsOnlyHealthyConnectionsUpToTheLimit() throws {
        let pool = HTTPConnectionPool(maxIdle: 1)
        #expect(throws: SnapfleetError.self) {
            try pool.withConnection { _ throws(SnapfleetError) in throw SnapfleetError(.ioError, "broken") }
        }
        #expect(pool.idleCount == 0)
        // Two connections in use at once; only one stays when both are done.
        try pool.withConnection { _ throws(SnapfleetError) in try pool.withConnection { _ throws(SnapfleetError) in } }
        #expect(pool.idleCount == 1)
    }
}
