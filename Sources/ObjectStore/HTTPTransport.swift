import HTTPClient
import SnapfleetCore

/// Sends one HTTP request; the seam tests use to inject failures.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response, whatever its status; throws only when no response arrived.
    func perform(_ request: HTTPRequest) throws(SnapfleetError) -> HTTPResponse
}

/// libcurl through a small pool of `HTTPConnection`s, so several threads can send at once
/// while each connection (and its keep-alive socket) is used by one thread at a time.
public final class CurlTransport: HTTPTransport {
    private let pool: HTTPConnectionPool

    /// Creates a pool that keeps up to `maxIdle` idle connections.
    public init(maxIdle: Int = 8) {
        pool = HTTPConnectionPool(maxIdle: maxIdle)
    }

    /// Sends `request` on an idle connection (or a new one) and returns it to the pool afterwards.
    public func perform(_ request: HTTPRequest) throws(SnapfleetError) -> HTTPResponse {
        try pool.withConnection { connection throws(SnapfleetError) in
            do { return try connection.perform(request) } catch let error as SnapfleetError { throw error } catch {
                throw SnapfleetError(.httpError, "http transfer failed: \(error)")
            }
        }
    }
}
