import SnapfleetCore
import Synchronization

/// A few `HTTPConnection`s kept for reuse, so that many requests in a row share keep-alive sockets
/// instead of paying a TCP (and TLS) handshake each, while each connection is still used by one
/// thread at a time.
public final class HTTPConnectionPool: Sendable {
    private let idle = Mutex<[PooledConnection]>([])
    /// Idle connections kept; more may exist while many threads send.
    private let maxIdle: Int

    /// A pool keeping up to `maxIdle` idle connections.
    public init(maxIdle: Int) {
        self.maxIdle = maxIdle
    }

    /// Runs `body` with an idle connection (or a new one). The connection returns to the pool
    /// afterwards unless `body` threw: a failed transfer leaves its socket in an unknown state.
    public func withConnection<Result>(_ body: (HTTPConnection) throws(SnapfleetError) -> Result) throws(SnapfleetError) -> Result {
        let pooled = try checkOut()
        let result = try body(pooled.connection)
        idle.withLock { connections in
            if connections.count < maxIdle { connections.append(pooled) }
        }
        return result
    }

    /// Closes every idle connection (the work that needed them is over).
    public func drain() {
        idle.withLock { $0.removeAll() }
    }

    /// How many connections wait idle.
    public var idleCount: Int { idle.withLock { $0.count } }

    private func checkOut() throws(SnapfleetError) -> PooledConnection {
        if let pooled = idle.withLock({ $0.popLast() }) { return pooled }
        return PooledConnection(try HTTPConnection())
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
