import SnapfleetCore

/// Whether PostgreSQL's archiver has stored a WAL segment: from `pg_stat_archiver` (fast, but it
/// only shows the last file archived), else as PostgreSQL itself decides it, from the segment's
/// status files.
///
/// `pg_backup_stop(wait_for_archive => true)` checks for the archived segment only once a second,
/// so every backup paid about a second after a fast archiver had finished. snapfleet stops without
/// waiting and watches the archiver itself, a few milliseconds apart; it may only ever wait longer
/// than PostgreSQL would, never shorter.
public enum ArchiveProgress {
    /// Whether `lastArchived` (pg_stat_archiver's `last_archived_wal`) proves `needed` is archived.
    ///
    /// The archiver stores ready files in name order, and a segment's `.ready` exists before
    /// anything written after it — except a backup history file: with backups stopping at once, the
    /// history file of one whose start segment is older can be archived after a newer segment, and
    /// then stay the last archived file. `isArchived(_:walDirectory:)` settles those. So a segment name proves itself and every older segment; the
    /// backup history file `<start segment>.<offset>.backup`, written after the stop segment was
    /// switched out, sorts right after its start segment and proves segments up to that one; a
    /// `.partial` file or a timeline history file proves nothing.
    public static func covers(lastArchived: String?, needed: WALFileName) -> Bool {
        guard let lastArchived, lastArchived.count >= 24, let archived = WALFileName(lastArchived.prefix(24)) else { return false }
        let suffix = lastArchived.dropFirst(24)
        guard archived.timeline == needed.timeline, suffix.isEmpty || suffix.hasSuffix(".backup") else { return false }
        return (archived.log, archived.segment) >= (needed.log, needed.segment)
    }

    /// PostgreSQL's own test (`XLogArchiveIsBusy`): `pg_wal/archive_status/NAME.done` means archived,
    /// `NAME.ready` not yet; with neither, a segment already removed (by a checkpoint, after it was
    /// archived) is archived, and one still there is not. Nil when the directory cannot be read.
    public static func isArchived(_ name: WALFileName, walDirectory: String) -> Bool? {
        isArchived(file: name.description, walDirectory: walDirectory)
    }

    /// The same test for any file PostgreSQL archives (a backup history file, say).
    public static func isArchived(file name: String, walDirectory: String) -> Bool? {
        let status = walDirectory + "/archive_status/" + name
        do {
            if try PosixFiles.status(status + ".done") != nil { return true }
            if try PosixFiles.status(status + ".ready") != nil { return false }
            // The archiver may have just renamed .ready to .done: look again, as PostgreSQL does.
            if try PosixFiles.status(status + ".done") != nil { return true }
            return try PosixFiles.status(walDirectory + "/" + name) == nil
        } catch {
            return nil
        }
    }

    /// The backup history file PostgreSQL writes at `pg_backup_stop`: the stop timeline, the start
    /// segment and the start's offset in it (`TTTTTTTTLLLLLLLLSSSSSSSS.OOOOOOOO.backup`), read from
    /// the label's `START WAL LOCATION: X/Y (file NAME)`; nil when the label has no such line.
    public static func historyFileName(label: String, stopTimeline: UInt32, segmentSize: Int) -> String? {
        guard let line = label.split(separator: "\n").first(where: { $0.hasPrefix("START WAL LOCATION: ") }),
            let lsnText = line.dropFirst("START WAL LOCATION: ".count).split(separator: " ").first, let lsn = LSN(String(lsnText))
        else { return nil }
        let start = WALFileName(timeline: stopTimeline, lsn: lsn, segmentSize: segmentSize)
        let offset = String(lsn.rawValue % UInt64(segmentSize), radix: 16, uppercase: true)
        return start.description + "." + String(repeating: "0", count: max(0, 8 - offset.count)) + offset + ".backup"
    }
}
