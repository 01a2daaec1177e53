import SnapfleetCore

/// Whether PostgreSQL's archiver has stored a WAL segment, judged from `pg_stat_archiver`.
///
/// `pg_backup_stop(wait_for_archive => true)` checks for the archived segment only once a second,
/// so every backup paid about a second after a fast archiver had finished. snapfleet stops without
/// waiting and watches the archiver itself, a few milliseconds apart; it may only ever wait longer
/// than PostgreSQL would, never shorter.
public enum ArchiveProgress {
    /// Whether `lastArchived` (pg_stat_archiver's `last_archived_wal`) proves `needed` is archived.
    ///
    /// The archiver stores ready files in name order, and a segment's `.ready` exists before
    /// anything written after it. So a segment name proves itself and every older segment; the
    /// backup history file `<start segment>.<offset>.backup`, written after the stop segment was
    /// switched out, sorts right after its start segment and proves segments up to that one; a
    /// `.partial` file or a timeline history file proves nothing.
    public static func covers(lastArchived: String?, needed: WALFileName) -> Bool {
        guard let lastArchived, lastArchived.count >= 24, let archived = WALFileName(lastArchived.prefix(24)) else { return false }
        let suffix = lastArchived.dropFirst(24)
        guard archived.timeline == needed.timeline, suffix.isEmpty || suffix.hasSuffix(".backup") else { return false }
        return (archived.log, archived.segment) >= (needed.log, needed.segment)
    }
}
