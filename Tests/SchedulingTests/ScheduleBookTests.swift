import Foundation
import Scheduling
import Synchronization
import Testing

@Suite("ScheduleBook: due slots in a fair order, missed slots folded into one run, reloads")
struct ScheduleBookTests {
    static let utc = TimeZone(identifier: "UTC")!
    static func date(_ text: String) -> Date { CronScheduleTests.date(text) }

    func book(_ schedules: [String: String], at now: String) throws -> ScheduleBook {
        ScheduleBook(schedules: try schedules.mapValues { try CronSchedule(parsing: $0) }, timeZone: Self.utc, now: Self.date(now))
    }

    @Test("nothing is due before the first slot; at it, the job is due once and moves to its next slot")
    func dueOnce() throws {
        var book = try book(["pg1": "30 2 * * *"], at: "2026-12-04 02:29")
        #expect(book.takeDue(now: Self.date("2026-12-04 02:29")).isEmpty)
        #expect(book.nextWake == Self.date("2026-12-04 02:30"))
        let due = book.takeDue(now: Self.date("2026-12-04 02:30"))
        #expect(due == [ScheduleBook.DueSlot(name: "pg1", slot: Self.date("2026-12-04 02:30"), missed: 0)])
        #expect(book.takeDue(now: Self.date("2026-12-04 02:31")).isEmpty)
        #expect(book.nextSlot(of: "pg1") == Self.date("2026-12-05 02:30"))
    }

    @Test("a slot at the moment the book is made is not due: it counts from then")
    func notDueAtCreation() throws {
        var book = try book(["pg1": "30 2 * * *"], at: "2026-12-04 02:30")
        #expect(book.takeDue(now: Self.date("2026-12-04 02:30")).isEmpty)
        #expect(book.nextSlot(of: "pg1") == Self.date("2026-12-05 02:30"))
    }

    @Test("slots that passed unasked are one run of the newest slot, the others counted as missed")
    func missedSlotsCollapse() throws {
        var book = try book(["pg1": "0 * * * *"], at: "2026-12-04 00:30")
        let due = book.takeDue(now: Self.date("2026-12-04 05:10"))
        #expect(due == [ScheduleBook.DueSlot(name: "pg1", slot: Self.date("2026-12-04 05:00"), missed: 4)])
        #expect(book.nextSlot(of: "pg1") == Self.date("2026-12-04 06:00"))
    }

    @Test("due jobs come oldest slot first, then by name")
    func fairOrder() throws {
        var book = try book(["b": "0 3 * * *", "a": "0 3 * * *", "c": "0 2 * * *", "d": "0 4 * * *"], at: "2026-12-04 01:00")
        let due = book.takeDue(now: Self.date("2026-12-04 03:30"))
        #expect(due.map(\.name) == ["c", "a", "b"])
        #expect(book.nextWake == Self.date("2026-12-04 04:00"))
    }

    @Test("a reload keeps unchanged schedules' next slots, restarts changed ones and drops removed ones")
    func reload() throws {
        var book = try book(["keep": "0 * * * *", "change": "0 * * * *", "drop": "0 * * * *"], at: "2026-12-04 00:30")
        book.replace(
            with: [
                "keep": try CronSchedule(parsing: "0 * * * *"), "change": try CronSchedule(parsing: "15 * * * *"),
                "new": try CronSchedule(parsing: "@daily"),
            ],
            now: Self.date("2026-12-04 02:20"))
        #expect(book.names == ["change", "keep", "new"])
        #expect(book.nextSlot(of: "keep") == Self.date("2026-12-04 01:00"), "still owed its 01:00 slot")
        #expect(book.nextSlot(of: "change") == Self.date("2026-12-04 03:15"))
        #expect(book.nextSlot(of: "new") == Self.date("2026-12-05 00:00"))
        #expect(book.nextSlot(of: "drop") == nil)
    }

    @Test("a job whose last run began before its newest slot owes that slot; one that ran since owes nothing")
    func missedWhileDown() throws {
        let book = try book(["pg1": "30 2 * * *"], at: "2026-12-06 09:00")
        let owed = book.missedSlot(of: "pg1", lastRun: Self.date("2026-12-03 02:30"), now: Self.date("2026-12-06 09:00"))
        #expect(owed == Self.date("2026-12-06 02:30"), "three slots passed; only the newest is owed")
        #expect(book.missedSlot(of: "pg1", lastRun: Self.date("2026-12-06 02:30"), now: Self.date("2026-12-06 09:00")) == nil)
        #expect(book.missedSlot(of: "other", lastRun: Self.date("2026-12-01 00:00"), now: Self.date("2026-12-06 09:00")) == nil)
    }

    @Test("schedules are read in the book's time zone")
    func timeZone() throws {
        let paris = TimeZone(identifier: "Europe/Paris")!
        var book = ScheduleBook(schedules: ["pg1": try CronSchedule(parsing: "30 2 * * *")], timeZone: paris, now: Self.date("2026-12-04 00:00"))
        // 02:30 in Paris in December is 01:30 UTC.
        #expect(book.nextSlot(of: "pg1") == Self.date("2026-12-04 01:30"))
        #expect(book.takeDue(now: Self.date("2026-12-04 01:30")).map(\.name) == ["pg1"])
    }
}

@Suite("FairSlots: at most capacity holders, waiters let in first come, first served")
struct FairSlotsTests {
    /// Records events in order, from any task.
    final class Journal: Sendable {
        private let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// How many hold a slot now, and the most there ever were.
    final class Occupancy: Sendable {
        private let counts = Mutex((now: 0, peak: 0))
        func enter() { counts.withLock { $0 = ($0.now + 1, max($0.peak, $0.now + 1)) } }
        func leave() { counts.withLock { $0.now -= 1 } }
        var peak: Int { counts.withLock { $0.peak } }
    }

    @Test("the holders never exceed capacity, and every waiter gets its turn")
    func capacityRespected() async {
        let slots = FairSlots(capacity: 3)
        let occupancy = Occupancy()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    await slots.acquire()
                    occupancy.enter()
                    try? await Task.sleep(for: .milliseconds(2))
                    occupancy.leave()
                    slots.release()
                }
            }
        }
        #expect(occupancy.peak == 3)
        #expect(slots.usage.holding == 0 && slots.usage.waiting == 0)
    }

    @Test("waiters are let in in the order they began to wait")
    func firstComeFirstServed() async throws {
        let slots = FairSlots(capacity: 1)
        let journal = Journal()
        await slots.acquire()
        var waiters: [Task<Void, Never>] = []
        for index in 0..<5 {
            waiters.append(
                Task {
                    await slots.acquire()
                    journal.add("in \(index)")
                    slots.release()
                })
            // Each waiter queues before the next one starts.
            while slots.usage.waiting < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
        }
        slots.release()
        for waiter in waiters { await waiter.value }
        #expect(journal.all == ["in 0", "in 1", "in 2", "in 3", "in 4"])
    }

    @Test("a resize to more slots lets waiters in at once; to fewer, holders keep theirs and the next releases pay the difference")
    func resize() async throws {
        let slots = FairSlots(capacity: 1)
        await slots.acquire()
        let waiters = (0..<3).map { _ in Task { await slots.acquire() } }
        while slots.usage.waiting < 3 { try await Task.sleep(for: .milliseconds(1)) }

        slots.resize(to: 3)
        for waiter in waiters.prefix(2) { await waiter.value }
        #expect(slots.capacity == 3)
        #expect(slots.usage.holding == 3 && slots.usage.waiting == 1)

        slots.resize(to: 1)
        #expect(slots.usage.holding == 3, "nobody loses a slot they hold")
        slots.release()
        slots.release()
        #expect(slots.usage.waiting == 1, "two releases only bring the holders down to the new capacity")
        slots.release()
        await waiters[2].value
        #expect(slots.usage.holding == 1 && slots.usage.waiting == 0)
    }
}
