import CloudSnapshots
import SnapfleetCore
import SnapfleetProtocol

/// What the pre-flight checks look at, gathered from the provider, the agent and the registry.
public struct PreflightFindings: Sendable {
    /// The server's configuration.
    public var config: ServerConfig
    /// The instance lookup (nil when the provider is not configured).
    public var instance: Result<InstanceInfo, SnapfleetError>?
    /// The disk lookup (nil when it was not reached).
    public var disks: Result<[DiskInfo], SnapfleetError>?
    /// The agent's `disk_map` answer (nil when it was not reached).
    public var diskMap: Result<DiskMapResult, SnapfleetError>?
    /// The agent's last hello, if an agent is connected.
    public var hello: Hello?

    /// Creates findings.
    public init(
        config: ServerConfig, instance: Result<InstanceInfo, SnapfleetError>? = nil, disks: Result<[DiskInfo], SnapfleetError>? = nil,
        diskMap: Result<DiskMapResult, SnapfleetError>? = nil, hello: Hello? = nil
    ) {
        self.config = config
        self.instance = instance
        self.disks = disks
        self.diskMap = diskMap
        self.hello = hello
    }
}

/// The pre-flight checks of a snapshot backup, as pure judgements over findings.
///
/// A backup whose data is not all on snapshotted disks is refused: the coverage checks are
/// the point of this, and the reason the agent reports where every directory lives.
public enum Preflight {
    /// One line per check, in the order an operator would fix them.
    public static func evaluate(_ findings: PreflightFindings) -> [CheckLine] {
        var lines = [configured(findings.config)]
        lines += cloud(findings)
        lines += mounts(findings)
        lines += coverage(findings)
        lines += postgres(findings.hello)
        return lines
    }

    private static func configured(_ config: ServerConfig) -> CheckLine {
        guard let provider = config.provider, config.snapshotInstance != nil, !config.snapshotDisks.isEmpty else {
            return CheckLine(
                name: "snapshot settings", passed: false, detail: "provider, snapshot_instance and snapshot_disks are not all set",
                hint: "set them for this server in the controller configuration")
        }
        return CheckLine(name: "snapshot settings", passed: true, detail: "\(provider.rawValue): \(config.snapshotDisks.joined(separator: ", "))")
    }

    private static func cloud(_ findings: PreflightFindings) -> [CheckLine] {
        let name = findings.config.snapshotInstance ?? "?"
        var lines: [CheckLine] = []
        switch findings.instance {
        case .success(let instance)?:
            let zone = instance.zone.map { " in \($0)" } ?? ""
            lines.append(CheckLine(name: "instance \(name) exists", passed: true, detail: "\(instance.id)\(zone)"))
        case .failure(let error)?:
            lines.append(CheckLine(name: "instance \(name) exists", passed: false, detail: error.message, hint: error.hint))
        case nil:
            return []
        }
        switch findings.disks {
        case .success(let disks)?:
            let detail = disks.map { "\($0.configuredName) = \($0.id) as \($0.deviceName)" }.joined(separator: ", ")
            lines.append(CheckLine(name: "disks attached to \(name)", passed: true, detail: detail))
        case .failure(let error)?:
            lines.append(CheckLine(name: "disks attached to \(name)", passed: false, detail: error.message, hint: error.hint))
        case nil:
            break
        }
        return lines
    }

    private static func mounts(_ findings: PreflightFindings) -> [CheckLine] {
        guard case .success(let disks)? = findings.disks else { return [] }
        guard case .success(let map)? = findings.diskMap else {
            if case .failure(let error)? = findings.diskMap {
                return [CheckLine(name: "disks mounted on the host", passed: false, detail: error.message, hint: error.hint)]
            }
            return []
        }
        return zip(disks, map.disks).map { disk, placement in
            let name = "disk \(disk.configuredName) mounted on the host"
            guard let device = placement.localDevice else {
                return CheckLine(name: name, passed: false, detail: placement.error ?? "not found on the host")
            }
            guard let mount = placement.mounts.first else {
                return CheckLine(name: name, passed: false, detail: "\(device) is attached but not mounted")
            }
            let more = placement.mounts.count > 1 ? " (and \(placement.mounts.count - 1) more)" : ""
            return CheckLine(name: name, passed: true, detail: "\(device) at \(mount.target) (\(mount.options))\(more)")
        }
    }

    private static func coverage(_ findings: PreflightFindings) -> [CheckLine] {
        guard case .success(let disks)? = findings.disks, case .success(let map)? = findings.diskMap else { return [] }
        var diskByDevice: [String: String] = [:]
        for (disk, placement) in zip(disks, map.disks) {
            if let device = placement.localDevice { diskByDevice[device] = disk.configuredName }
        }
        return map.paths.map { path in covered(path, diskByDevice) }
    }

    private static func covered(_ path: PathPlacement, _ diskByDevice: [String: String]) -> CheckLine {
        let label = path.role.label(name: path.name)
        let name = "\(label) on a listed disk"
        if let device = path.device, let disk = diskByDevice[device] {
            return CheckLine(name: name, passed: true, detail: "\(path.path) on \(device) (disk \(disk))")
        }
        let location = path.device.map { "on \($0), which is not a listed disk" } ?? (path.error ?? "not on a block device")
        if path.role == .walDirectory {
            // pg_wal elsewhere is allowed: recovery replays it from the WAL archive instead.
            return CheckLine(name: name, passed: true, detail: "\(path.path) is \(location): the backup will rely on archived WAL for it")
        }
        return CheckLine(name: name, passed: false, detail: "\(path.path) is \(location)", hint: "add its disk to snapshot_disks")
    }

    private static func postgres(_ hello: Hello?) -> [CheckLine] {
        guard let hello else {
            return [
                CheckLine(
                    name: "agent connected", passed: false, detail: "no agent is connected for this server", hint: "start snapfleet-agent on the host"
                )
            ]
        }
        guard let facts = hello.postgres.facts else {
            return [CheckLine(name: "postgres reachable", passed: false, detail: hello.postgres.error ?? "unreachable")]
        }
        let archiving = ["on", "always"].contains(facts.archiveMode)
        return [
            CheckLine(name: "postgres reachable", passed: true, detail: facts.serverVersion),
            CheckLine(
                name: "postgres version supported", passed: facts.serverVersionNum >= 130_000, detail: "\(facts.serverVersionNum)",
                hint: facts.serverVersionNum >= 130_000 ? nil : "PostgreSQL 13 or later is needed"),
            CheckLine(
                name: "archive_mode on", passed: archiving, detail: facts.archiveMode,
                hint: archiving ? nil : "set archive_mode = on (a restart is needed)"),
        ]
    }
}
