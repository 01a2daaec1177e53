import Foundation
import Logging
import Scheduling
import SnapfleetCore
import Synchronization

/// Starts each server's scheduled backups: sleeps until the earliest next slot, hands every due
/// server to `start`, and moves the server on to its next slot. Slots passed while nothing
/// asked (a machine asleep, a loop held up) are folded into one run and logged as missed.
final class BackupScheduler: Sendable {
    private let book: Mutex<ScheduleBook>
    private let logger: Logger
    /// The longest sleep in seconds, so that a reload's earlier slot is not slept through.
    private static let longestSleep = 5.0

    /// A scheduler of `schedules`, counting from `now`.
    init(schedules: [String: CronSchedule], timeZone: TimeZone, now: Date, logger: Logger) {
        book = Mutex(ScheduleBook(schedules: schedules, timeZone: timeZone, now: now))
        self.logger = logger
    }

    /// Puts in a reloaded configuration's schedules: unchanged ones keep their next slot, new and
    /// changed ones count from `now`; a new time zone restarts every schedule from `now`.
    func replace(_ schedules: [String: CronSchedule], timeZone: TimeZone, now: Date) {
        book.withLock { book in
            if book.timeZone == timeZone {
                book.replace(with: schedules, now: now)
            } else {
                book = ScheduleBook(schedules: schedules, timeZone: timeZone, now: now)
            }
        }
    }

    /// The server's next slot.
    func nextSlot(of server: String) -> Date? { book.withLock { $0.nextSlot(of: server) } }

    /// The slot the server missed while the controller was down, given its last backup's start.
    func missedSlot(of server: String, lastRun: Date, now: Date) -> Date? {
        book.withLock { $0.missedSlot(of: server, lastRun: lastRun, now: now) }
    }

    /// Hands what is due to `start`, until `stopped` is raised.
    func run(until stopped: Flag, start: @Sendable (_ server: String, _ slot: Date) -> Void) async {
        while !stopped.isRaised {
            startDue(now: Date(), start: start)
            let untilWake = book.withLock { $0.nextWake }?.timeIntervalSinceNow ?? Self.longestSleep
            try? await Task.sleep(for: .milliseconds(Int(min(max(untilWake, 0), Self.longestSleep) * 1000) + 1))
        }
    }

    /// Hands every due server to `start`, oldest slot first.
    func startDue(now: Date, start: (_ server: String, _ slot: Date) -> Void) {
        for due in book.withLock({ $0.takeDue(now: now) }) {
            if due.missed > 0 {
                logger.warning(
                    "scheduled slots passed unrun; one backup is run for them",
                    metadata: ["server": "\(due.name)", "slots.missed": "\(due.missed)", "slot": "\(Timestamp.rfc3339(due.slot))"])
            }
            start(due.name, due.slot)
        }
    }
}
