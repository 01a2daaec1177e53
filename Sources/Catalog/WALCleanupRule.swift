/// Which archived WAL may go once backup B is deleted (barman's `_remove_wals_for_backup`, spec §7.5):
/// nothing while an older full backup still needs it, otherwise everything before the next
/// remaining backup's `begin_wal`, except `.history` files, timelines other backups are on and
/// the WAL of standalone-kept backups.
public struct WALCleanupRule: Sendable, Hashable {
    /// WAL sorting before this name goes (the next remaining backup's `begin_wal`, or B's own).
    public let removeUntil: String
    /// Timelines of other backups, whose WAL stays (the timeline of `removeUntil` excepted).
    public let protectedTimelines: Set<UInt32>
    /// `(begin_wal, end_wal)` of older standalone-kept backups, whose WAL stays.
    public let protectedRanges: [ClosedRange<String>]

    /// A rule with these bounds (`after(deleting:catalog:skipStandalone:)` derives them from a catalog).
    public init(removeUntil: String, protectedTimelines: Set<UInt32>, protectedRanges: [ClosedRange<String>]) {
        self.removeUntil = removeUntil
        self.protectedTimelines = protectedTimelines
        self.protectedRanges = protectedRanges
    }

    /// The rule after deleting `deleted` from `catalog` (which still holds it), or nil when no WAL
    /// may go: an older DONE backup without a standalone keep still needs it, or the backup the
    /// clean-up would stop at has no `begin_wal` (barman fails there, after deleting backup.info).
    /// `skipStandalone` (delete by id) keeps all WAL when the next older backup is standalone-kept.
    public static func after(deleting deleted: BackupID, catalog: [CatalogEntry], skipStandalone: Bool) -> WALCleanupRule? {
        // A policy run asks once per deleted backup, of a catalog already in id order: no copy
        // then, and the entries are read in place (copying one retains each of its strings).
        let inOrder = catalog.indices.dropFirst().allSatisfy { catalog[$0 - 1].id < catalog[$0].id }
        let ordered = inOrder ? catalog : catalog.sorted { $0.id < $1.id }
        guard let target = ordered.firstIndex(where: { $0.id == deleted }) else { return nil }
        var ranges: [ClosedRange<String>] = []
        for older in ordered.indices[..<target].reversed() where ordered[older].status.isCopyDone {
            guard ordered[older].keep == .standalone, !skipStandalone else { return nil }
            if let begin = ordered[older].beginWAL, let end = ordered[older].endWAL, begin <= end { ranges.append(begin...end) }
        }
        let stopAt = ordered.indices[(target + 1)...].first { ordered[$0].status.isCopyDone } ?? target
        guard let until = ordered[stopAt].beginWAL, let untilFile = WALFile(name: until) else { return nil }
        // Inserted one by one: `Set(array)` would keep room for every backup, in every rule.
        var timelines = Set<UInt32>()
        for index in ordered.indices where index != target {
            if let timeline = ordered[index].timeline.flatMap({ UInt32(exactly: $0) }), timeline != untilFile.timeline {
                timelines.insert(timeline)
            }
        }
        return WALCleanupRule(removeUntil: until, protectedTimelines: timelines, protectedRanges: ranges)
    }

    /// Whether this rule lets go of everything `other` does, whole directories included (it stops
    /// on the same timeline, no earlier, and protects nothing `other` does not), so that `other`
    /// adds nothing to a run that applies both.
    public func covers(_ other: WALCleanupRule) -> Bool {
        removeUntil.prefix(8) == other.removeUntil.prefix(8) && removeUntil >= other.removeUntil
            && protectedTimelines.isSubset(of: other.protectedTimelines)
            && protectedRanges.allSatisfy(other.protectedRanges.contains)
    }

    /// Whether every object under the hash directory `hash` (`TTTTTTTTLLLLLLLL`) may go at once:
    /// the directory is on `removeUntil`'s timeline, before its log, and outside every protected range.
    public func removesDirectory(_ hash: String) -> Bool {
        guard hash.utf8.count == 16, let tli = UInt32(hash.prefix(8), radix: 16), let log = UInt32(hash.suffix(8), radix: 16) else {
            return false
        }
        guard !protectedTimelines.contains(tli) else { return false }
        for range in protectedRanges {
            guard let begin = Self.position(range.lowerBound), let end = Self.position(range.upperBound) else { return false }
            // barman's test: component by component, inclusive.
            if (begin.tli...end.tli).contains(tli) && (begin.log...end.log).contains(log) { return false }
        }
        let until = Self.position(removeUntil)!
        return tli == until.tli && log < until.log
    }

    /// Whether the WAL file may go: not a `.history` file, not on a protected timeline, not in a
    /// protected range, and sorting before `removeUntil` (barman compares the names as text).
    public func removes(_ file: WALFile) -> Bool {
        guard file.kind != .timelineHistory, !protectedTimelines.contains(file.timeline) else { return false }
        let compared = file.kind == .backupHistory ? String(file.name.prefix(24)) : file.name
        guard !protectedRanges.contains(where: { $0.contains(compared) }) else { return false }
        return file.name < removeUntil
    }

    /// The timeline and log number of a segment name.
    private static func position(_ name: String) -> (tli: UInt32, log: UInt32)? {
        guard name.utf8.count >= 16, let tli = UInt32(name.prefix(8), radix: 16),
            let log = UInt32(name.dropFirst(8).prefix(8), radix: 16)
        else { return nil }
        return (tli, log)
    }
}
