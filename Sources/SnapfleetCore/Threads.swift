import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `body` on a new detached POSIX thread: only for the few long-lived loops (a message loop
/// blocks in `zmq_poll` for its whole life, which must never happen on Swift's cooperative pool).
/// Work that merely blocks for a while goes to `BlockingPool.shared`.
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

/// A one-way flag that one thread raises and others test or wait for.
public final class Flag: Sendable {
    private let raised = Mutex(false)
    /// Left once, when the flag is raised: `wait()` sleeps on it instead of polling.
    private let lowered = DispatchGroup()

    /// A lowered flag.
    public init() { lowered.enter() }

    deinit {
        // A DispatchGroup must not be freed while entered.
        if !isRaised { lowered.leave() }
    }

    /// Raises the flag and wakes every waiter; raising it again does nothing.
    public func raise() {
        let first = raised.withLock { raised in
            defer { raised = true }
            return !raised
        }
        if first { lowered.leave() }
    }

    /// Whether the flag was raised.
    public var isRaised: Bool { raised.withLock { $0 } }

    /// Blocks the calling thread until the flag is raised.
    public func wait() { lowered.wait() }
}
