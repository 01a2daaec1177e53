import Synchronization

/// At most `capacity` holders at once; the others wait and are let in in the order they asked
/// (first come, first served: a server due early is never overtaken by later ones).
public final class FairSlots: Sendable {
    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
        var waitingStart = 0
    }

    private let state: Mutex<State>
    /// How many may hold a slot at once.
    public let capacity: Int

    /// Slots for `capacity` holders (at least one).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        state = Mutex(State(free: max(1, capacity)))
    }

    /// Waits for a slot; pair with `release()`.
    public func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                guard state.free > 0 else {
                    state.waiting.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Gives a slot back: to the longest waiter if there is one.
    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.waitingStart < state.waiting.count else {
                state.free = min(capacity, state.free + 1)
                return nil
            }
            let next = state.waiting[state.waitingStart]
            state.waitingStart += 1
            // Drop the handed-out prefix now and then, so the queue does not grow without bound.
            if state.waitingStart > 1024, state.waitingStart * 2 > state.waiting.count {
                state.waiting.removeFirst(state.waitingStart)
                state.waitingStart = 0
            }
            return next
        }
        next?.resume()
    }

    /// Holders now, and waiters.
    public var usage: (holding: Int, waiting: Int) {
        state.withLock { (capacity - $0.free, $0.waiting.count - $0.waitingStart) }
    }
}
