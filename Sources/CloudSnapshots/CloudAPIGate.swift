import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every cloud API call of this process passes here: a token bucket per provider bounds the
/// rate (so one controller cannot exhaust an account's request limits), a throttling answer
/// empties the bucket for everyone, and each call and failure is counted for the metrics.
///
/// One per process, shared (`shared`): the clients are made anew for each backup, check and
/// deletion, but the account's limit is one for all of them.
public final class CloudAPIGate: Sendable {
    /// The process's gate.
    public static let shared = CloudAPIGate()

    /// Calls and failures of one provider's action.
    public struct Count: Sendable, Equatable {
        /// The provider (`aws`, `local`, ...).
        public var provider: String
        /// The API action (`CreateSnapshot`, ...).
        public var action: String
        /// Calls made (retries each count).
        public var calls: Int
        /// Calls that failed, by error (`RequestLimitExceeded`, `HTTP503`, `transport`, ...).
        public var errors: [String: Int]

        /// Creates a count.
        public init(provider: String, action: String, calls: Int, errors: [String: Int]) {
            self.provider = provider
            self.action = action
            self.calls = calls
            self.errors = errors
        }
    }

    private struct State {
        var buckets: [String: TokenBucket] = [:]
        var counts: [String: Count] = [:]
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Double

    /// A gate with no limits; `clock` gives seconds (monotonic) and is for tests.
    public init(clock: @escaping @Sendable () -> Double = CloudAPIGate.monotonicSeconds) { self.clock = clock }

    /// Limits `provider` to `perSecond` calls a second on average, `burst` at once; nil removes the limit.
    public func limit(_ provider: String, perSecond: Double?, burst: Double? = nil) {
        state.withLock { state in
            guard let perSecond else { return state.buckets[provider] = nil }
            state.buckets[provider] = TokenBucket(rate: perSecond, capacity: burst ?? max(1, perSecond * 2), now: clock())
        }
    }

    /// Waits (sleeping the calling thread) until `provider`'s bucket has a token, and takes it.
    public func admit(_ provider: String) {
        while true {
            let wait = state.withLock { state -> Double in
                guard var bucket = state.buckets[provider] else { return 0 }
                defer { state.buckets[provider] = bucket }
                return bucket.take(now: clock())
            }
            guard wait > 0 else { return }
            usleep(UInt32(min(wait, 5) * 1_000_000))
        }
    }

    /// Counts a call and how it ended (`error` nil for success). A throttling error empties the
    /// provider's bucket, so every caller slows down, not only the one that was told.
    public func record(_ provider: String, action: String, error: String?, throttled: Bool = false) {
        state.withLock { state in
            let key = provider + "\u{0}" + action
            var count = state.counts[key] ?? Count(provider: provider, action: action, calls: 0, errors: [:])
            count.calls += 1
            if let error { count.errors[error, default: 0] += 1 }
            state.counts[key] = count
            if throttled { state.buckets[provider]?.drain(now: clock()) }
        }
    }

    /// Every provider's and action's counts, sorted by provider then action.
    public var counts: [Count] {
        state.withLock { $0.counts.values.sorted { ($0.provider, $0.action) < ($1.provider, $1.action) } }
    }

    /// Seconds on the monotonic clock.
    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// A token bucket: `capacity` tokens at most, refilled at `rate` a second.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens it holds (the burst).
    public let capacity: Double
    private var tokens: Double
    private var updated: Double

    /// A full bucket at `now` (seconds).
    public init(rate: Double, capacity: Double, now: Double) {
        self.rate = max(rate, 0.001)
        self.capacity = max(capacity, 1)
        tokens = self.capacity
        updated = now
    }

    /// Takes a token if there is one (returns 0), else returns how many seconds until there is.
    public mutating func take(now: Double) -> Double {
        refill(now: now)
        guard tokens >= 1 else { return (1 - tokens) / rate }
        tokens -= 1
        return 0
    }

    /// Empties the bucket (after a throttling answer): the next call waits a full token's time.
    public mutating func drain(now: Double) {
        refill(now: now)
        tokens = min(tokens, 0)
    }

    private mutating func refill(now: Double) {
        tokens = min(capacity, tokens + max(0, now - updated) * rate)
        updated = max(updated, now)
    }
}
