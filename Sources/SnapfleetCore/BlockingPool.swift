import Dispatch
import Synchronization

/// The one place where work that blocks a thread runs: libpq connects, cloud API calls, object
/// store requests, file I/O. A bounded set of threads, started as needed, takes jobs first come
/// first served, so a thousand agents asking at once queue up instead of making a thousand threads,
/// and Swift's cooperative pool (one thread per core) is never held up by a blocking call.
///
/// A job must not wait for another job of the same pool (with every thread waiting, nothing would
/// run): long-lived loops use `startThread` instead.
public final class BlockingPool: Sendable {
    /// The pool both programs use: at most 32 threads, few of them ever started on an agent.
    public static let shared = BlockingPool(maxThreads: 32)

    /// A job's work, and what to run once its thread counts as idle again (see `run`).
    private typealias Job = @Sendable () -> (@Sendable () -> Void)?

    private struct State {
        var jobs: [Job] = []
        var head = 0
        var threads = 0
        /// Threads waiting for a job.
        var idle = 0
    }

    /// The most threads the pool starts.
    public let maxThreads: Int
    private let state = Mutex(State())
    /// Counts queued jobs: an idle thread sleeps on it.
    private let queued = DispatchSemaphore(value: 0)

    /// A pool of at most `maxThreads` threads (at least one).
    public init(maxThreads: Int) { self.maxThreads = max(1, maxThreads) }

    /// Runs `work` on one of the pool's threads, without waiting for it.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        enqueue {
            work()
            return nil
        }
    }

    /// Runs `work` on one of the pool's threads and returns its result to the awaiting task.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            // The result is handed over only once the thread counts as idle: a caller that submits
            // its next job at once then finds that thread waiting instead of starting another.
            enqueue {
                let result = work()
                return { continuation.resume(returning: result) }
            }
        }
    }

    private func enqueue(_ work: @escaping Job) {
        let startOne = state.withLock { state -> Bool in
            state.jobs.append(work)
            // A new thread only when the waiting threads are fewer than the jobs not yet taken.
            guard state.idle < state.jobs.count - state.head, state.threads < maxThreads else { return false }
            state.threads += 1
            return true
        }
        queued.signal()
        if startOne { startThread { [self] in workLoop() } }
    }

    /// Threads started so far and jobs waiting (for tests and diagnostics).
    public var load: (threads: Int, waiting: Int) {
        state.withLock { ($0.threads, $0.jobs.count - $0.head) }
    }

    private func workLoop() {
        state.withLock { $0.idle += 1 }
        while true {
            queued.wait()
            guard let job = takeJob() else { continue }
            let deliver = job()
            state.withLock { $0.idle += 1 }
            deliver?()
        }
    }

    /// The oldest queued job, the calling thread no longer counted as idle.
    private func takeJob() -> Job? {
        state.withLock { state -> Job? in
            guard state.head < state.jobs.count else { return nil }
            state.idle -= 1
            let job = state.jobs[state.head]
            state.head += 1
            // Compact now and then so the queue does not grow for ever.
            if state.head >= 1024, state.head * 2 >= state.jobs.count {
                state.jobs.removeFirst(state.head)
                state.head = 0
            }
            return job
        }
    }
}
