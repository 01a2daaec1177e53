import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// When and how long to wait before trying a failed request again: exponential backoff with jitter.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included (1 = never retry); default 5.
    public var maxAttempts: Int
    /// The wait before the second attempt, doubled before each later one; default 200 ms.
    public var baseDelay: Duration
    /// The longest single wait; default 20 s.
    public var maxDelay: Duration
    /// How to wait; tests replace it to record the delays instead of sleeping.
    public var sleep: @Sendable (Duration) -> Void

    /// Creates a policy; every part has a default.
    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20),
        sleep: @escaping @Sendable (Duration) -> Void = RetryPolicy.threadSleep
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.sleep = sleep
    }

    /// The wait after failed attempt `attempt` (1-based): a random point in the upper half of
    /// `min(maxDelay, baseDelay × 2^(attempt-1))`.
    ///
    /// The jitter keeps many clients that failed together (a throttled bucket) from retrying in step.
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        return ceiling * (0.5 + 0.5 * min(max(random, 0), 1))
    }

    /// Blocks the calling thread; the store's calls are blocking by design.
    public static func threadSleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
