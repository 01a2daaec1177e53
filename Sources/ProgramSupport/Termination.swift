#if canImport(Glibc)
    import Glibc
#endif

/// Waits for SIGINT or SIGTERM without a signal handler (so no work runs in signal context).
public enum Termination {
    /// Blocks SIGINT and SIGTERM in this thread and every thread started after this call;
    /// call it first thing in a daemon, before any thread exists.
    public static func blockSignals() {
        var signals = sigset()
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Waits until SIGINT or SIGTERM arrives; returns the signal's name.
    public static func wait() -> String {
        var signals = sigset()
        var received: Int32 = 0
        sigwait(&signals, &received)
        return received == SIGTERM ? "SIGTERM" : "SIGINT"
    }

    private static func sigset() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}
