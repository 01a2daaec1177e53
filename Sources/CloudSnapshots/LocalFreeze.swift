import HostInspection
import SnapfleetCore

/// Runs work while a filesystem is frozen (`fsfreeze -f`), and always thaws it afterwards.
///
/// While a filesystem is frozen every write to it blocks, PostgreSQL's included: a freeze that
/// is never undone hangs the database. So the thaw runs whatever the work did, and is retried.
enum LocalFreeze {
    /// Freezes `mountPoint` (if any), runs `body`, thaws; with no mount point just runs `body`.
    static func whileFrozen<T>(
        _ mountPoint: String?, disk: String, _ body: () throws(SnapfleetError) -> T
    ) throws(SnapfleetError) -> T {
        guard let mountPoint else { return try body() }
        try HostCommand.check(
            ["fsfreeze", "-f", mountPoint], what: "cannot freeze \(mountPoint) (disk \(disk))",
            hint: "is it already frozen by another backup? fsfreeze needs root")
        let outcome: Result<T, SnapfleetError>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        if let thawFailure = thaw(mountPoint) {
            let during = (try? outcome.get()) == nil ? "; the copy had failed too" : ""
            throw SnapfleetError(
                .ioError, "cannot thaw \(mountPoint) (disk \(disk)): \(thawFailure)\(during)",
                hint: "run 'fsfreeze -u \(mountPoint)' now: writes to it, PostgreSQL's included, are blocked")
        }
        return try outcome.get()
    }

    /// Thaws, retrying briefly; nil on success, else what the last attempt said.
    private static func thaw(_ mountPoint: String) -> String? {
        var lastFailure = ""
        for attempt in 0..<3 {
            do {
                try HostCommand.check(["fsfreeze", "-u", mountPoint], what: "fsfreeze -u")
                return nil
            } catch {
                lastFailure = error.message
                HostCommand.pause(milliseconds: 100 * (attempt + 1))
            }
        }
        return lastFailure
    }
}
