#if canImport(Glibc)
    import Glibc
#endif

/// Waits for SIGINT, SIGTERM or SIGHUP without a signal handler (so no work runs in signal context).
public enum Termination {
    /// A signal a daemon acts on.
    public enum Signal: String, Sendable {
        /// SIGINT or SIGTERM: stop.
        case interrupt = "SIGINT", terminate = "SIGTERM"
        /// SIGHUP: read the configuration again.
        case hangup = "SIGHUP"
    }

    /// Blocks the daemon's signals in this thread and every thread started after this call;
    /// call it first thing in a daemon, before any thread exists.
    public static func blockSignals() {
        var signals = sigset()
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Waits until one of the daemon's signals arrives.
    public static func wait() -> Signal {
        var signals = sigset()
        var received: Int32 = 0
        sigwait(&signals, &received)
        switch received {
        case SIGTERM: return .terminate
        case SIGHUP: return .hangup
        default: return .interrupt
        }
    }

    private static func sigset() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        return set
    }
}
