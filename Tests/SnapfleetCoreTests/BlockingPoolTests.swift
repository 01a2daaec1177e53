import Dispatch
import Glibc
import SnapfleetCore
import Synchronization
import Testing

@Suite("BlockingPool and Flag: bounded threads for blocking work, real waits")
struct BlockingPoolTests {
    @Test("a thousand blocking jobs at once run on at most the pool's threads, every one of them")
    func boundedThreads() async throws {
        let pool = BlockingPool(maxThreads: 4)
        let running = Mutex((now: 0, peak: 0))
        let done = DispatchGroup()
        for _ in 0..<1000 {
            done.enter()
            pool.submit {
                running.withLock {
                    $0.now += 1; $0.peak = max($0.peak, $0.now)
                }
                usleep(200)  // blocks, as a libpq connect or a cloud call would
                running.withLock { $0.now -= 1 }
                done.leave()
            }
        }
        #expect(done.wait(timeout: .now() + 60) == .success, "every job ran")
        #expect(running.withLock { $0.peak } <= 4, "never more jobs at once than threads")
        #expect(pool.load.threads <= 4)
        #expect(pool.load.waiting == 0)
    }

    @Test("run returns the job's result to the awaiting task")
    func runReturnsTheResult() async {
        let pool = BlockingPool(maxThreads: 2)
        let results = await withTaskGroup(of: Int.self) { group in
            for value in 0..<50 { group.addTask { await pool.run { value * 2 } } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<50).map { $0 * 2 })
    }

    @Test("threads are started only as jobs need them")
    func threadsStartedOnDemand() async {
        let pool = BlockingPool(maxThreads: 32)
        #expect(pool.load.threads == 0)
        for _ in 0..<200 { _ = await pool.run { 1 } }
        #expect(pool.load.threads == 1, "one job at a time needs one thread")
    }

    @Test("Flag.wait sleeps until raise, wakes every waiter, and returns at once once raised")
    func flagWaits() {
        let flag = Flag()
        let woke = Mutex(0)
        let waiters = DispatchGroup()
        for _ in 0..<3 {
            waiters.enter()
            startThread {
                flag.wait()
                woke.withLock { $0 += 1 }
                waiters.leave()
            }
        }
        usleep(50_000)
        #expect(woke.withLock { $0 } == 0, "nobody wakes before the flag is raised")
        flag.raise()
        flag.raise()
        #expect(waiters.wait(timeout: .now() + 10) == .success)
        #expect(woke.withLock { $0 } == 3)
        flag.wait()
        #expect(flag.isRaised)
    }
}
