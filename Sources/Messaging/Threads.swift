import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `body` on a new detached POSIX thread (the loops here block in `zmq_poll`,
/// which must never happen on Swift's cooperative thread pool).
public func startThread(_ body: @escaping @Sendable () -> Void) {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, context)
    precondition(result == 0, "pthread_create failed: \(result)")
    pthread_detach(thread)
}

private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A one-way flag that one thread raises and another polls.
public final class Flag: Sendable {
    private let raised = Mutex(false)

    /// A lowered flag.
    public init() {}

    /// Raises the flag.
    public func raise() { raised.withLock { $0 = true } }

    /// Whether the flag was raised.
    public var isRaised: Bool { raised.withLock { $0 } }

    /// Waits (polling every 5 ms) until the flag is raised.
    public func wait() {
        while !isRaised { usleep(5_000) }
    }
}
