#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A backup id, `YYYYMMDDTHHMMSS` in the local time of the host that started the backup (spec §2.2).
///
/// Ids are compared as strings, and that order is taken as chronological order everywhere.
public struct BackupID: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The id text.
    public let rawValue: String

    /// Accepts exactly what barman's `is_backup_id` accepts: eight digits, `T`, six digits.
    public init?(rawValue: String) {
        let bytes = Array(rawValue.utf8)
        guard bytes.count == 15, bytes[8] == UInt8(ascii: "T") else { return nil }
        let digits = bytes[0..<8] + bytes[9..<15]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        self.rawValue = rawValue
    }

    /// The id for the second of `date` in `timeZone`, `strftime("%Y%m%dT%H%M%S")`.
    public init(date: Date, timeZone: TimeZone) {
        let offset = timeZone.secondsFromGMT(for: date)
        let wall = PythonDateTime(Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)), utcOffset: offset)
        let text =
            String(format4: wall.year) + Self.two(wall.month) + Self.two(wall.day) + "T"
            + Self.two(wall.hour) + Self.two(wall.minute) + Self.two(wall.second)
        // Years past 9999 cannot form an id; clamp rather than trap (a clock that wrong fails elsewhere).
        self.rawValue = text.utf8.count == 15 ? text : "99991231T235959"
    }

    /// A new id for a server that already has `existing`: the clock's second, or the next free
    /// second after it, so two backups started within one second never share objects (spec §2.2
    /// notes barman lets them collide and overwrite each other).
    public static func next(existing: some Sequence<BackupID>, now: Date, timeZone: TimeZone = .current) -> BackupID {
        let taken = Set(existing)
        var candidate = now
        var id = BackupID(date: candidate, timeZone: timeZone)
        while taken.contains(id) {
            candidate += 1
            id = BackupID(date: candidate, timeZone: timeZone)
        }
        return id
    }

    /// Snapshot names are `<disk>-<id lower-cased>`, e.g. `pgdata-20240315t021500` (spec §4.5).
    public func snapshotName(disk: String) -> String { disk + "-" + rawValue.lowercased() }

    /// The id text.
    public var description: String { rawValue }

    /// String order, which is chronological order.
    public static func < (lhs: BackupID, rhs: BackupID) -> Bool { lhs.rawValue < rhs.rawValue }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

extension String {
    fileprivate init(format4 value: Int) {
        let digits = String(value)
        self = String(repeating: "0", count: Swift.max(0, 4 - digits.count)) + digits
    }
}
