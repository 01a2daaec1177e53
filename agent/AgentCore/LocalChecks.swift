import Foundation
import HostInspection
import PostgresBackup
import SnapfleetCore
import SnapfleetProtocol

/// The agent's local pre-flight checks: PostgreSQL, its version, and every directory it
/// keeps data in — readable, and on a block device this host can name.
public struct LocalChecks: Sendable {
    private let probe: PostgresProbe
    private let mapper: @Sendable () throws -> DiskMapper

    /// Checks for the PostgreSQL at `conninfo`, mapping paths with `mapper` (the live host by default).
    public init(conninfo: Redacted<String>, mapper: @escaping @Sendable () throws -> DiskMapper = { try DiskMapper.current() }) {
        probe = PostgresProbe(conninfo: conninfo)
        self.mapper = mapper
    }

    /// Runs every check; later checks are skipped (not failed) when PostgreSQL cannot be read.
    public func run() -> [CheckLine] {
        let facts: ServerFacts
        do { facts = try probe.facts() } catch {
            return [
                CheckLine(
                    name: "postgres reachable", passed: false, detail: error.message,
                    hint: error.hint ?? "check 'postgres' in the agent configuration")
            ]
        }
        var results = [
            CheckLine(name: "postgres reachable", passed: true, detail: "\(facts.version), system identifier \(facts.systemIdentifier)"),
            versionCheck(facts),
        ]
        let mapping = Result { try mapper() }
        for directory in facts.dataDirectories {
            results.append(readable(directory.label, directory.path))
            results.append(placement(directory.label, directory.path, mapping))
        }
        return results
    }

    private func versionCheck(_ facts: ServerFacts) -> CheckLine {
        do {
            try facts.checkSupported()
            return CheckLine(name: "postgres version supported", passed: true, detail: "\(facts.versionNumber)")
        } catch {
            let failure = error as? SnapfleetError
            return CheckLine(
                name: "postgres version supported", passed: false, detail: failure?.message ?? "\(facts.versionNumber)", hint: failure?.hint)
        }
    }

    private func readable(_ name: String, _ path: String) -> CheckLine {
        guard access(path, R_OK | X_OK) == 0 else {
            let reason = String(cString: strerror(errno)).lowercased()
            return CheckLine(name: "\(name) readable", passed: false, detail: "\(path): \(reason)", hint: "run the agent as the PostgreSQL user")
        }
        return CheckLine(name: "\(name) readable", passed: true, detail: path)
    }

    private func placement(_ name: String, _ path: String, _ mapping: Result<DiskMapper, any Error>) -> CheckLine {
        let check = "\(name) on a block device"
        do {
            let placement = try mapping.get().placement(of: path)
            guard let device = placement.device else {
                return CheckLine(
                    name: check, passed: false, detail: "\(path) is on \(placement.mount.fsType) at \(placement.mount.mountPoint), not a disk",
                    hint: "snapshots can only capture data on attached disks")
            }
            let extra = device.serial.map { ", serial \($0)" } ?? device.loopBackingFile.map { ", backed by \($0)" } ?? ""
            return CheckLine(
                name: check, passed: true,
                detail:
                    "\(device.devicePath) (\(device.majorMinor)\(extra)) mounted at \(placement.mount.mountPoint) with \(placement.mount.findmntOptions)"
            )
        } catch {
            return CheckLine(name: check, passed: false, detail: (error as? SnapfleetError)?.message ?? "\(error)")
        }
    }
}
