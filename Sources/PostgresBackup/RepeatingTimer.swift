import Dispatch

/// A repeating timer on its own queue, cancelled when released.
final class RepeatingTimer: @unchecked Sendable {
    // @unchecked: the source is set up once in `start` (called right after init, before any other
    // use) and afterwards only cancelled; dispatch sources are themselves thread-safe.
    private let source: any DispatchSourceTimer
    private let interval: DispatchTimeInterval

    /// A timer that fires every `interval` once started.
    init(label: String, interval: Duration) {
        source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: label))
        self.interval = .milliseconds(max(1, interval.wholeMilliseconds))
    }

    /// Starts calling `handler` on the timer's queue.
    func start(_ handler: @escaping @Sendable () -> Void) {
        source.schedule(deadline: .now() + interval, repeating: interval)
        source.setEventHandler(handler: handler)
        source.activate()
    }

    deinit { source.cancel() }
}
