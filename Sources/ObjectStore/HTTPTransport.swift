import HTTPClient
import SnapfleetCore
import Synchronization

/// Sends one HTTP request; the seam tests use to inject failures.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response, whatever its status; throws only when no response arrived.
    func perform(_ request: HTTPRequest) throws(SnapfleetError) -> HTTPResponse
}

/// libcurl through a small pool of `HTTPConnection`s, so several threads can send at once
/// while each connection (and its keep-alive socket) is used by one thread at a time.
public final class CurlTransport: HTTPTransport {
    private let idle = Mutex<[PooledConnection]>([])
    /// Idle connections kept for reuse; more may exist while many threads send.
    private let maxIdle: Int

    /// Creates a pool that keeps up to `maxIdle` idle connections.
    public init(maxIdle: Int = 8) {
        self.maxIdle = maxIdle
    }

    /// Sends `request` on an idle connection (or a new one) and returns it to the pool afterwards.
    public func perform(_ request: HTTPRequest) throws(SnapfleetError) -> HTTPResponse {
        let pooled = try checkOut()
        do {
            let response = try pooled.connection.perform(request)
            checkIn(pooled)
            return response
        } catch let error as SnapfleetError {
            // A connection whose transfer failed is dropped: its socket state is unknown.
            throw error
        } catch {
            throw SnapfleetError(.httpError, "http transfer failed: \(error)")
        }
    }

    private func checkOut() throws(SnapfleetError) -> PooledConnection {
        if let pooled = idle.withLock({ $0.popLast() }) { return pooled }
        do {
            return PooledConnection(try HTTPConnection())
        } catch let error as SnapfleetError {
            throw error
        } catch {
            throw SnapfleetError(.internalError, "cannot create an http connection: \(error)")
        }
    }

    private func checkIn(_ pooled: PooledConnection) {
        idle.withLock { connections in
            if connections.count < maxIdle { connections.append(pooled) }
        }
    }
}

/// An `HTTPConnection` that can sit in the pool's Mutex.
///
/// `@unchecked` because HTTPConnection is deliberately not Sendable; the pool hands each one
/// to a single thread at a time, which is all that libcurl's easy handle requires.
private final class PooledConnection: @unchecked Sendable {
    let connection: HTTPConnection
    init(_ connection: HTTPConnection) { self.connection = connection }
}
