import Foundation

/// A retention policy in barman's grammar (spec §7.3): `REDUNDANCY n` or
/// `RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS` (case-insensitive, the plural `s` optional).
public enum RetentionPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Keep the newest `n` DONE backups.
    case redundancy(Int)
    /// Keep every backup needed to recover to any point of the last `count` units.
    case recoveryWindow(count: Int, unit: WindowUnit)

    /// The unit of a recovery window.
    public enum WindowUnit: String, Sendable, Hashable {
        /// 1 day.
        case days = "DAYS"
        /// 7 days.
        case weeks = "WEEKS"
        /// 31 days, as barman counts a month.
        case months = "MONTHS"

        /// The unit's length in days.
        public var days: Int {
            switch self {
            case .days: 1
            case .weeks: 7
            case .months: 31
            }
        }
    }

    /// Parses a policy; the error text is barman's (`Cannot parse option retention_policy: …`).
    public init(parsing text: String) throws {
        let words = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        func count(_ word: String) -> Int? {
            guard !word.isEmpty, word.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(word), value >= 1 else { return nil }
            return value
        }
        if words.count == 2, words[0] == "redundancy", let n = count(words[1]) {
            self = .redundancy(n)
            return
        }
        if words.count == 5, words[0...2] == ["recovery", "window", "of"], let n = count(words[3]) {
            let unit = words[4].hasSuffix("s") ? String(words[4].dropLast()) : words[4]
            if let window = ["day": WindowUnit.days, "week": .weeks, "month": .months][unit] {
                self = .recoveryWindow(count: n, unit: window)
                return
            }
        }
        throw CatalogErrors.invalid(
            "Cannot parse option retention_policy: \(CatalogErrors.preview(text, limit: 80)) "
                + "(expected REDUNDANCY n or RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS, n at least 1)")
    }

    /// The policy as barman writes it (`REDUNDANCY 3`, `RECOVERY WINDOW OF 2 WEEKS`).
    public var description: String {
        switch self {
        case .redundancy(let n): "REDUNDANCY \(n)"
        case .recoveryWindow(let count, let unit): "RECOVERY WINDOW OF \(count) \(unit.rawValue)"
        }
    }

    /// Each backup's retention status (every id of `backups` gets one), walking newest to oldest as
    /// barman does; only `.obsolete` backups may be deleted.
    ///
    /// `now` and the backups' end times are compared as instants; a naive end time is taken in
    /// `localTimeZone`, as barman reads it.
    public func statuses(
        of backups: [CatalogEntry], minimumRedundancy: Int, now: Date, localTimeZone: TimeZone = .current
    ) -> [BackupID: RetentionStatus] {
        let newestFirst = backups.sorted { $0.id > $1.id }
        var report: [BackupID: RetentionStatus] = [:]
        switch self {
        case .redundancy(let n):
            let kept = max(n, minimumRedundancy)
            var counted = 0
            for backup in newestFirst {
                guard backup.status == .done else {
                    report[backup.id] = RetentionStatus.none
                    continue
                }
                report[backup.id] = backup.keepStatus ?? (counted < kept ? .valid : .obsolete)
                counted += 1
            }
        case .recoveryWindow(let count, let unit):
            let point = now.addingTimeInterval(-Double(count * unit.days) * 86_400)
            var foundTheBase = false
            var valid = 0
            for backup in newestFirst {
                guard backup.status == .done else {
                    report[backup.id] = RetentionStatus.none
                    continue
                }
                if foundTheBase {
                    if let keep = backup.keepStatus {
                        report[backup.id] = keep
                    } else if valid < minimumRedundancy {
                        report[backup.id] = .potentiallyObsolete
                        valid += 1
                    } else {
                        report[backup.id] = .obsolete
                    }
                } else {
                    // The first backup that ended before the window's start is still needed: it is the
                    // base from which the window's first moments are recovered.
                    if let end = backup.endTime?.date(localTimeZone: localTimeZone), end < point { foundTheBase = true }
                    report[backup.id] = backup.keepStatus ?? .valid
                    valid += 1
                }
            }
        }
        return report
    }

    /// barman's warning when the minimum redundancy overrides a lower `REDUNDANCY n`, else nil.
    public func redundancyWarning(minimumRedundancy: Int) -> String? {
        guard case .redundancy(let n) = self, n < minimumRedundancy else { return nil }
        return
            "Retention policy redundancy (\(n)) is lower than the required minimum redundancy (\(minimumRedundancy)). Enforce \(minimumRedundancy)."
    }
}

/// A backup's standing under a retention policy, as `barman-cloud-backup-list` and barman name it.
public enum RetentionStatus: String, Sendable, Hashable {
    /// Needed by the policy.
    case valid = "VALID"
    /// Not needed: the policy deletes it.
    case obsolete = "OBSOLETE"
    /// Outside the window but kept for the minimum redundancy.
    case potentiallyObsolete = "OBSOLETE*"
    /// Kept by a `full` annotation.
    case keepFull = "KEEP:FULL"
    /// Kept by a `standalone` annotation.
    case keepStandalone = "KEEP:STANDALONE"
    /// Not DONE: never counted, never deleted by a policy.
    case none = "-"
}

/// What retention and WAL clean-up need to know about one backup: a few fields of its
/// `backup.info` and its keep annotation, small enough to hold for every backup of a catalog.
public struct CatalogEntry: Sendable, Hashable {
    /// The id (the directory name).
    public var id: BackupID
    /// `status`.
    public var status: BackupStatus
    /// `end_time`.
    public var endTime: PythonDateTime?
    /// `timeline`.
    public var timeline: Int?
    /// `begin_wal`.
    public var beginWAL: String?
    /// `end_wal`.
    public var endWAL: String?
    /// The keep annotation, if any.
    public var keep: KeepTarget?
    /// `backup_name`.
    public var name: String?

    /// Describes a backup.
    public init(
        id: BackupID, status: BackupStatus, endTime: PythonDateTime? = nil, timeline: Int? = nil, beginWAL: String? = nil,
        endWAL: String? = nil, keep: KeepTarget? = nil, name: String? = nil
    ) {
        self.id = id
        self.status = status
        self.endTime = endTime
        self.timeline = timeline
        self.beginWAL = beginWAL
        self.endWAL = endWAL
        self.keep = keep
        self.name = name
    }

    /// The entry of a parsed `backup.info`.
    public init(id: BackupID, info: BackupInfo, keep: KeepTarget?) {
        self.init(
            id: id, status: info.status, endTime: info.endTime, timeline: info.timeline, beginWAL: info.beginWAL, endWAL: info.endWAL,
            keep: keep, name: info.backupName)
    }

    /// `KEEP:STANDALONE` / `KEEP:FULL` for a kept backup, nil otherwise.
    var keepStatus: RetentionStatus? {
        switch keep {
        case .standalone?: .keepStandalone
        case .full?: .keepFull
        case nil: nil
        }
    }
}
