import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// Writing into a data directory being prepared for recovery: every path is the directory's own
/// file (no separators), written as the directory's owner with mode 0600.
struct RestoreFiles {
    /// The data directory, symlinks resolved.
    let directory: String

    /// The data directory after symlinks are resolved; it must be a directory on one of `mounts`.
    static func dataDirectory(_ path: String, within mounts: [String]) throws(SnapfleetError) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw SnapfleetError(.notFound, "\(path) does not exist", hint: "check every disk of the backup is attached and mounted")
        }
        guard isDirectory.boolValue else { throw SnapfleetError(.invalidConfiguration, "\(path) is not a directory") }
        let onVerifiedDisk = mounts.contains { mount in
            let root = URL(fileURLWithPath: mount).resolvingSymlinksInPath().path
            return resolved == root || resolved.hasPrefix(root == "/" ? "/" : root + "/")
        }
        guard onVerifiedDisk else {
            throw SnapfleetError(
                .invalidConfiguration, "\(resolved) is not on a disk restored from the backup (\(mounts.joined(separator: ", ")))",
                hint: "the data directory must lie on the restored disks")
        }
        return resolved
    }

    /// Writes `name` (0600, the directory's owner); returns its path.
    func write(_ name: String, _ text: String) throws(SnapfleetError) -> String {
        let path = try self.path(name)
        let temporary = path + ".snapfleet-new"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SnapfleetError(.ioError, "cannot write \(temporary)")
        }
        try giveToOwner(temporary)
        do { try PosixFiles.rename(temporary, to: path) } catch {
            unlink(temporary)
            throw error
        }
        return path
    }

    /// Removes those of `names` that exist; returns their paths.
    func remove(_ names: [String]) throws(SnapfleetError) -> [String] {
        var removed: [String] = []
        for name in names {
            let path = try self.path(name)
            if try PosixFiles.remove(path) { removed.append(path) }
        }
        return removed
    }

    /// Replaces earlier recovery settings in `postgresql.auto.conf` with `settings` (PostgreSQL
    /// refuses two recovery targets, so lines from an earlier restore must go); returns its path.
    func writeRecoverySettings(_ settings: RecoverySettings, backupID: String) throws(SnapfleetError) -> String {
        let path = try self.path("postgresql.auto.conf")
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let kept = existing.split(separator: "\n", omittingEmptySubsequences: false).filter { !RecoverySettings.isRecoveryLine($0) }
        var text = kept.joined(separator: "\n")
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        text += "# snapfleet: recovery from backup \(backupID)\n" + settings.lines.joined(separator: "\n") + "\n"
        return try write("postgresql.auto.conf", text)
    }

    private func path(_ name: String) throws(SnapfleetError) -> String {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw SnapfleetError(.internalError, "refusing to write \(name) in the data directory")
        }
        return directory + "/" + name
    }

    private func giveToOwner(_ path: String) throws(SnapfleetError) {
        guard let owner = try PosixFiles.status(directory) else { throw PosixFiles.failure("stat", directory, errnoValue: ENOENT) }
        // errno is read by PosixFiles.failure right after the failed call, before anything else runs.
        guard chown(path, owner.st_uid, owner.st_gid) == 0 else { throw PosixFiles.failure("chown", path) }
    }
}

/// The recovery settings a restore writes: `restore_command` and the target.
struct RecoverySettings: Equatable {
    /// The `restore_command`.
    let restoreCommand: String
    /// Where to stop.
    let target: RecoveryTarget

    /// `name = 'value'` lines for postgresql.auto.conf, quotes doubled.
    var lines: [String] {
        var settings: [(String, String)] = [("restore_command", restoreCommand)]
        if let time = target.time { settings.append(("recovery_target_time", time)) }
        if let lsn = target.lsn { settings.append(("recovery_target_lsn", lsn)) }
        if let xid = target.xid { settings.append(("recovery_target_xid", xid)) }
        if let name = target.name { settings.append(("recovery_target_name", name)) }
        if target.immediate { settings.append(("recovery_target", "immediate")) }
        if let timeline = target.timeline { settings.append(("recovery_target_timeline", timeline)) }
        if let action = target.action { settings.append(("recovery_target_action", action)) }
        return settings.map { "\($0.0) = '\($0.1.replacingOccurrences(of: "'", with: "''"))'" }
    }

    /// `<executable> wal-fetch --config <configPath> %f %p`, each path quoted for the shell
    /// PostgreSQL runs `restore_command` with (a path with a space or a quote would split or break it).
    static func restoreCommand(executable: String, configPath: String) -> String {
        "\(shellQuoted(executable)) wal-fetch --config \(shellQuoted(configPath)) %f %p"
    }

    /// `text` as one word for `/bin/sh`: as it is when only safe characters, else in single quotes
    /// with each `'` written `'\''`. A `%` is doubled: PostgreSQL expands `%f`, `%p` and `%%` first.
    static func shellQuoted(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+:=@,")
        let escaped = text.replacingOccurrences(of: "%", with: "%%")
        guard !text.isEmpty, !text.allSatisfy({ safe.contains($0) }) else { return text.isEmpty ? "''" : escaped }
        return "'" + escaped.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Whether a postgresql.auto.conf line sets a recovery setting (or is snapfleet's comment).
    static func isRecoveryLine(_ line: Substring) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.hasPrefix("restore_command") || trimmed.hasPrefix("recovery_target") || trimmed.hasPrefix("# snapfleet: recovery")
    }
}
