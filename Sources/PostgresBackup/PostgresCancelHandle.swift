import CPostgres

/// Interrupts the statement a `PostgresConnection` is running, from any thread.
///
/// It owns libpq's `PGcancel`, which holds only the server address and the backend's cancel key,
/// so it stays valid (and harmless) after the connection is closed.
public final class PostgresCancelHandle: @unchecked Sendable {
    // @unchecked: PQcancel is documented as thread-safe, and the pointer is never mutated after init.
    private let cancel: OpaquePointer

    /// Takes ownership of a `PGcancel` from `PQgetCancel`.
    init(_ cancel: OpaquePointer) { self.cancel = cancel }

    /// Asks the server to cancel the running statement; returns whether the request was delivered.
    ///
    /// A delivered request does not guarantee a cancel: if no statement is running, the server ignores it.
    @discardableResult
    public func requestCancel() -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        return PQcancel(cancel, &buffer, Int32(buffer.count)) == 1
    }

    deinit { PQfreeCancel(cancel) }
}
