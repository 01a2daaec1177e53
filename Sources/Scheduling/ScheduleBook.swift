import Foundation

/// Which named jobs are due when: each name's schedule and the next slot it fires. A slot is
/// handed out once; slots that passed while nobody asked (a controller that was down, a machine
/// that slept) are counted as missed and collapse into one run, never replayed one by one.
public struct ScheduleBook: Sendable {
    /// A slot that came due.
    public struct DueSlot: Sendable, Equatable {
        /// The job's name.
        public let name: String
        /// The newest slot at or before the time asked about.
        public let slot: Date
        /// Older slots that passed unrun and are folded into this one.
        public let missed: Int

        /// Describes a due slot.
        public init(name: String, slot: Date, missed: Int) {
            self.name = name
            self.slot = slot
            self.missed = missed
        }
    }

    private struct Entry: Sendable {
        var schedule: CronSchedule
        var next: Date?
    }

    /// The zone every schedule is read in.
    public let timeZone: TimeZone
    private var entries: [String: Entry] = [:]

    /// A book of `schedules`, each counting from `now` (a slot at `now` exactly is not due yet).
    public init(schedules: [String: CronSchedule], timeZone: TimeZone, now: Date) {
        self.timeZone = timeZone
        for (name, schedule) in schedules {
            entries[name] = Entry(schedule: schedule, next: schedule.nextFire(after: now, in: timeZone))
        }
    }

    /// The names with a schedule, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// The schedule of `name`.
    public func schedule(of name: String) -> CronSchedule? { entries[name]?.schedule }

    /// The next slot of `name`; nil without a schedule or for one that never fires.
    public func nextSlot(of name: String) -> Date? { entries[name]?.next }

    /// The earliest next slot of any job.
    public var nextWake: Date? { entries.values.compactMap(\.next).min() }

    /// Every job due at `now`, oldest slot first (then by name, so the order is fair and
    /// repeatable); each is moved on to its first slot after `now`.
    public mutating func takeDue(now: Date) -> [DueSlot] {
        var due: [DueSlot] = []
        for (name, entry) in entries {
            guard let next = entry.next, next <= now else { continue }
            let newest = entry.schedule.previousFire(atOrBefore: now, in: timeZone) ?? next
            due.append(DueSlot(name: name, slot: newest, missed: Self.slots(of: entry.schedule, from: next, before: newest, in: timeZone)))
            entries[name]?.next = entry.schedule.nextFire(after: now, in: timeZone)
        }
        return due.sorted { ($0.slot, $0.name) < ($1.slot, $1.name) }
    }

    /// Puts in the new schedules: a job whose schedule did not change keeps its next slot, a new or
    /// changed one counts from `now`, and a job left out is dropped.
    public mutating func replace(with schedules: [String: CronSchedule], now: Date) {
        var replaced: [String: Entry] = [:]
        for (name, schedule) in schedules {
            if let kept = entries[name], kept.schedule == schedule {
                replaced[name] = kept
            } else {
                replaced[name] = Entry(schedule: schedule, next: schedule.nextFire(after: now, in: timeZone))
            }
        }
        entries = replaced
    }

    /// The slot a job missed while nothing ran it: the newest slot at or before `now`, when the
    /// job's last run began before it; nil when nothing is owed. However many slots passed, one
    /// run is owed.
    public func missedSlot(of name: String, lastRun: Date, now: Date) -> Date? {
        guard let schedule = entries[name]?.schedule, let slot = schedule.previousFire(atOrBefore: now, in: timeZone) else { return nil }
        return lastRun < slot ? slot : nil
    }

    /// How many slots lie in `start..<end` (capped: a missed count is a report, not a loop to run).
    private static func slots(of schedule: CronSchedule, from start: Date, before end: Date, in timeZone: TimeZone) -> Int {
        var count = 0
        var cursor: Date? = start
        while let slot = cursor, slot < end, count < 10_000 {
            count += 1
            cursor = schedule.nextFire(after: slot, in: timeZone)
        }
        return count
    }
}
