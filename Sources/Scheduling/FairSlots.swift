import Synchronization

/// At most `capacity` holders at once; the others wait and are let in in the order they asked
/// (first come, first served: a server due early is never overtaken by later ones).
public final class FairSlots: Sendable {
    private struct State {
        var capacity: Int
        /// Below zero after a resize to fewer slots than are held: releases pay it back first.
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
        var waitingStart = 0
    }

    private let state: Mutex<State>

    /// How many may hold a slot at once.
    public var capacity: Int { state.withLock { $0.capacity } }

    /// Slots for `capacity` holders (at least one).
    public init(capacity: Int) {
        state = Mutex(State(capacity: max(1, capacity), free: max(1, capacity)))
    }

    /// Changes the number of slots (at least one): more let waiters in at once; fewer take
    /// effect as holders release, never by taking a slot back.
    public func resize(to capacity: Int) {
        let admitted = state.withLock { state in
            let capacity = max(1, capacity)
            state.free += capacity - state.capacity
            state.capacity = capacity
            return Self.admit(&state)
        }
        admitted.forEach { $0.resume() }
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
        let admitted = state.withLock { state in
            state.free = min(state.capacity, state.free + 1)
            return Self.admit(&state)
        }
        admitted.forEach { $0.resume() }
    }

    /// Hands free slots to the longest waiters; returns them, to be resumed outside the lock.
    private static func admit(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        var admitted: [CheckedContinuation<Void, Never>] = []
        while state.free > 0, state.waitingStart < state.waiting.count {
            admitted.append(state.waiting[state.waitingStart])
            state.waitingStart += 1
            state.free -= 1
        }
        // Drop the handed-out prefix now and then, so the queue does not grow without bound.
        if state.waitingStart > 1024, state.waitingStart * 2 > state.waiting.count {
            state.waiting.removeFirst(state.waitingStart)
            state.waitingStart = 0
        }
        return admitted
    }

    /// Holders now, and waiters.
    public var usage: (holding: Int, waiting: Int) {
        state.withLock { ($0.capacity - $0.free, $0.waiting.count - $0.waitingStart) }
    }
}
