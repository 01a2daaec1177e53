import Foundation
import HostInspection
import SnapfleetCore
import SnapfleetProtocol

/// Answers `restore_prepare`: checks the recovery host (each disk attached, mounted where and how
/// it was at backup time; the data directory on them; PostgreSQL not running), then — only if
/// every check passed — writes `backup_label`, removes what a crash-consistent snapshot leaves
/// behind, and writes the recovery settings and `recovery.signal`. It writes only inside the data
/// directory, on the disks it has just verified, whatever the backup metadata says.
struct RestorePreparation {
    /// Whether the agent may mount disks (`allow_mount`).
    let allowMount: Bool
    /// `restore_command`: this executable's `wal-fetch` with this agent's configuration file.
    let restoreCommand: String
    let mapping: DiskMapping

    /// Files a crash-consistent copy of a running server holds that must not survive into recovery.
    static let leftovers = ["postmaster.pid", "postmaster.opts", "recovery.signal", "standby.signal"]

    /// Mounts (if asked and allowed), checks, and writes when every check passed and not `checkOnly`.
    func answer(_ request: RestorePrepare) -> RestoreReport {
        var mounted: [String] = []
        if request.mount && !request.checkOnly {
            guard allowMount else {
                return RestoreReport(checks: [
                    CheckLine(
                        name: "mount allowed", passed: false, detail: "asked to mount disks, but allow_mount is false",
                        hint: "set allow_mount: true in agent.yaml")
                ])
            }
            mounted = mountMissing(request.disks)
        }
        let (checks, verifiedMounts) = check(request)
        guard checks.allSatisfy(\.passed), !request.checkOnly else { return RestoreReport(checks: checks, mounted: mounted) }
        do {
            let directory = try RestoreFiles.dataDirectory(request.dataDirectory, within: verifiedMounts)
            let files = RestoreFiles(directory: directory)
            let removed = try files.remove(Self.leftovers)
            var written = [try files.write("backup_label", request.backupLabel)]
            if let map = request.tablespaceMap, !map.isEmpty { written.append(try files.write("tablespace_map", map)) }
            written.append(
                try files.writeRecoverySettings(RecoverySettings(restoreCommand: restoreCommand, target: request.target), backupID: request.backupID))
            written.append(try files.write("recovery.signal", ""))
            return RestoreReport(checks: checks, mounted: mounted, written: written, removed: removed)
        } catch {
            let failure = CheckLine(name: "prepare data directory", passed: false, detail: error.message, hint: error.hint)
            return RestoreReport(checks: checks + [failure], mounted: mounted)
        }
    }

    // MARK: - Checks

    /// Every check, and the mount points verified to hold the backup's disks.
    func check(_ request: RestorePrepare) -> ([CheckLine], [String]) {
        let mapper: DiskMapper
        do { mapper = try mapping.currentMapper() } catch {
            return ([CheckLine(name: "host", passed: false, detail: error.message)], [])
        }
        var checks: [CheckLine] = []
        var verified: [String] = []
        for disk in request.disks {
            let (lines, mountPoint) = check(disk, mapper: mapper)
            checks += lines
            if let mountPoint { verified.append(mountPoint) }
        }
        checks.append(checkDataDirectory(request.dataDirectory, verified: verified))
        checks.append(checkPostgresStopped(request.dataDirectory))
        return (checks, verified)
    }

    /// The disk's device, where it is mounted, with which options.
    private func check(_ disk: RestoreDisk, mapper: DiskMapper) -> ([CheckLine], String?) {
        let label = "disk from \(disk.snapshotID)"
        let placement = mapping.locate(DiskReference(id: disk.diskID, deviceName: disk.deviceName, deviceNaming: disk.deviceNaming), with: mapper)
        guard let device = placement.localDevice else {
            return (
                [CheckLine(name: "\(label) attached", passed: false, detail: "expected \(disk.deviceName): \(placement.error ?? "not found")")], nil
            )
        }
        let attached = CheckLine(name: "\(label) attached", passed: true, detail: "\(disk.deviceName) is \(device)")
        guard let mount = placement.mounts.first(where: { $0.target == disk.mountPoint }) else {
            let found = placement.mounts.map(\.target).joined(separator: ", ")
            let detail = "expected \(disk.mountPoint), found \(found.isEmpty ? "not mounted" : found)"
            return (
                [attached, CheckLine(name: "\(label) mount point", passed: false, detail: detail, hint: "mount \(device) at \(disk.mountPoint)")], nil
            )
        }
        let point = CheckLine(name: "\(label) mount point", passed: true, detail: "\(device) at \(mount.target)")
        guard mount.options == disk.mountOptions else {
            let options = CheckLine(
                name: "\(label) mount options", passed: false, detail: "expected \(disk.mountOptions), found \(mount.options)",
                hint: "remount \(mount.target) with -o \(disk.mountOptions)")
            return ([attached, point, options], nil)
        }
        return ([attached, point, CheckLine(name: "\(label) mount options", passed: true, detail: mount.options)], mount.target)
    }

    private func checkDataDirectory(_ path: String, verified: [String]) -> CheckLine {
        do {
            let resolved = try RestoreFiles.dataDirectory(path, within: verified)
            return CheckLine(name: "data directory", passed: true, detail: "\(resolved) on a restored disk")
        } catch {
            return CheckLine(name: "data directory", passed: false, detail: error.message, hint: error.hint)
        }
    }

    /// `postmaster.pid` naming a live postgres process means PostgreSQL runs on this directory.
    private func checkPostgresStopped(_ dataDirectory: String) -> CheckLine {
        let name = "PostgreSQL not running"
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) }), pid > 0
        else { return CheckLine(name: name, passed: true, detail: "no live postmaster.pid") }
        guard Self.isLivePostgres(pid) else {
            return CheckLine(name: name, passed: true, detail: "postmaster.pid names pid \(pid), which is not running (left by the snapshot)")
        }
        return CheckLine(name: name, passed: false, detail: "PostgreSQL (pid \(pid)) runs on \(dataDirectory)", hint: "stop it first")
    }

    /// A running (not zombie) process called postgres: an exited postmaster nobody reaped is not running.
    static func isLivePostgres(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM,
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return false }
        let command = stat[stat.index(after: open)..<close]
        let state = stat[stat.index(after: close)...].split(separator: " ").first ?? ""
        return command.hasPrefix("postgres") && state != "Z" && state != "X"
    }

    // MARK: - Mounting (--provision)

    /// Mounts each disk not yet mounted at its recorded point with its recorded options.
    private func mountMissing(_ disks: [RestoreDisk]) -> [String] {
        guard let mapper = try? mapping.currentMapper() else { return [] }
        var mounted: [String] = []
        for disk in disks {
            let placement = mapping.locate(DiskReference(id: disk.diskID, deviceName: disk.deviceName, deviceNaming: disk.deviceNaming), with: mapper)
            guard let device = placement.localDevice, placement.mounts.isEmpty else { continue }
            try? FileManager.default.createDirectory(atPath: disk.mountPoint, withIntermediateDirectories: true)
            // The check that follows reports a mount that failed.
            if (try? HostCommand.check(["mount", "-o", disk.mountOptions, device, disk.mountPoint], what: "mount")) != nil {
                mounted.append(disk.mountPoint)
            }
        }
        return mounted
    }
}
