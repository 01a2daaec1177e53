import Catalog
import CloudSnapshots
import Foundation
import Logging
import SnapfleetCore
import SnapfleetProtocol

/// Restores a backup onto a recovery server: resolves the backup (never a FAILED one), checks
/// with the cloud API that every snapshot has exactly one disk on the recovery instance created
/// from it (creating and attaching them with `--provision`), then has the recovery host's agent
/// check its mounts and prepare the data directory.
struct RestoreCoordinator: Sendable {
    let config: ControllerConfig
    let askAgent: @Sendable (_ server: String, _ message: Message) async throws(SnapfleetError) -> Message
    let logger: Logger

    /// The backup's disks, as recorded.
    struct RecordedDisk: Sendable {
        var snapshot: SnapshotInfo
        var deviceName: String?
        var mountPoint: String
        var mountOptions: String
        /// How the provider's device names name a device on the host.
        var naming: DeviceNaming = .path
    }

    /// What the controller found before asking the agent.
    struct Plan: Sendable {
        var backupID: String
        var info: BackupInfo
        var label: String
        var disks: [RecordedDisk]
    }

    /// Runs the restore; cloud and host check failures come back as failed lines, never half a restore.
    func run(_ request: RestoreRunRequest) async throws(SnapfleetError) -> RestoreRunOutcome {
        guard let serverConfig = config.servers[request.server] else { throw unknown(request.server) }
        guard let recoveryConfig = config.servers[request.recoveryServer] else { throw unknown(request.recoveryServer) }
        let plan = try await BlockingPool.shared.run { Result { () throws(SnapfleetError) in try Self.plan(request, serverConfig) } }.get()
        let cloud = await BlockingPool.shared.run { Self.cloudChecks(plan, request, recoveryConfig) }
        var outcome = RestoreRunOutcome(
            backupID: plan.backupID, recoveryServer: request.recoveryServer, checks: cloud.checks, provisioned: cloud.provisioned, written: [],
            ready: false)
        guard cloud.checks.allSatisfy(\.passed), let disks = cloud.disks else { return outcome }
        let prepare = RestorePrepare(
            backupID: plan.backupID, checkOnly: false, mount: request.provision, dataDirectory: plan.info.pgdata ?? "", disks: disks,
            backupLabel: plan.label, tablespaceMap: nil, target: request.target)
        let reply = try await askAgent(request.recoveryServer, .restorePrepare(prepare))
        guard case .restoreReport(let report) = reply else {
            throw SnapfleetError(.unexpectedMessage, "the agent answered restore_prepare with \(reply.type.rawValue)")
        }
        outcome.checks += report.checks
        outcome.provisioned += report.mounted.map { "mounted \($0)" }
        outcome.written = report.written + report.removed.map { "removed \($0)" }
        outcome.ready = report.passed && !report.written.isEmpty
        logger.info(
            "restore prepared",
            metadata: [
                "server": "\(request.server)", "backup.id": "\(plan.backupID)", "recovery_server": "\(request.recoveryServer)",
                "ready": "\(outcome.ready)",
            ])
        return outcome
    }

    private func unknown(_ server: String) -> SnapfleetError {
        SnapfleetError(.unknownServer, "no server named '\(server)' in the configuration")
    }

    // MARK: - The backup

    /// The backup, its `backup_label` and its disks; a FAILED (or unfinished) backup is refused.
    static func plan(_ request: RestoreRunRequest, _ serverConfig: ServerConfig) throws(SnapfleetError) -> Plan {
        let catalog = try CatalogStore.open(server: request.server, config: serverConfig)
        let (id, info) = try BackupResolver(catalog: catalog).resolve(request.backup)
        guard info.status == .done else {
            throw SnapfleetError(
                .invalidConfiguration, "backup \(id) of \(request.server) is \(info.status.rawValue): only a DONE backup is restored",
                hint: "pick another with 'latest' or a backup id")
        }
        guard let snapshots = info.snapshotsInfo, info.pgdata != nil else {
            throw SnapfleetError(.invalidBody, "backup \(id) has no snapshots_info or pgdata: it is not a snapshot backup")
        }
        let label = String(decoding: try catalog.store.get(catalog.layout.backupLabelKey(id)), as: UTF8.self)
        return Plan(backupID: id.rawValue, info: info, label: label, disks: try recordedDisks(snapshots, backup: id.rawValue))
    }

    /// Each snapshot with its recorded device, mount point and options.
    static func recordedDisks(_ snapshots: SnapshotsInfo, backup: String) throws(SnapfleetError) -> [RecordedDisk] {
        func mount(_ mount: SnapshotMount) throws(SnapfleetError) -> (String, String) {
            guard let point = mount.mountPoint, let options = mount.mountOptions else {
                throw SnapfleetError(.invalidBody, "backup \(backup) records a snapshot without its mount point or options")
            }
            return (point, options)
        }
        switch snapshots {
        case .aws(let aws):
            return try aws.snapshots.map { snapshot throws(SnapfleetError) in
                let (point, options) = try mount(snapshot.mount)
                let info = SnapshotInfo(id: snapshot.snapshotID ?? "", name: snapshot.snapshotName ?? "", diskID: "", state: .completed)
                return RecordedDisk(snapshot: info, deviceName: snapshot.deviceName, mountPoint: point, mountOptions: options)
            }
        case .local(let local):
            return try local.snapshots.map { snapshot throws(SnapfleetError) in
                let (point, options) = try mount(snapshot.mount)
                let info = SnapshotInfo(id: snapshot.snapshotImagePath ?? "", name: snapshot.snapshotName ?? "", diskID: "", state: .completed)
                return RecordedDisk(snapshot: info, deviceName: snapshot.deviceName, mountPoint: point, mountOptions: options)
            }
        case .gcp(let gcp):
            // Compute Engine snapshots are named, and barman records the name as their identity.
            return try gcp.snapshots.map { snapshot throws(SnapfleetError) in
                let (point, options) = try mount(snapshot.mount)
                let name = snapshot.snapshotName ?? ""
                let info = SnapshotInfo(id: name, name: name, diskID: "", state: .completed)
                return RecordedDisk(snapshot: info, deviceName: snapshot.deviceName, mountPoint: point, mountOptions: options, naming: .gcp)
            }
        case .azure(let azure):
            // barman records the LUN, not a device name: the disk is found on the host by its LUN.
            return try azure.snapshots.map { snapshot throws(SnapfleetError) in
                let (point, options) = try mount(snapshot.mount)
                let name = snapshot.snapshotName ?? ""
                let info = SnapshotInfo(id: name, name: name, diskID: "", state: .completed)
                return RecordedDisk(
                    snapshot: info, deviceName: snapshot.lun.map { "lun\($0)" }, mountPoint: point, mountOptions: options, naming: .azure)
            }
        }
    }

    // MARK: - The cloud

    /// The recovery instance, optional provisioning, and one disk per snapshot created from it.
    static func cloudChecks(_ plan: Plan, _ request: RestoreRunRequest, _ recoveryConfig: ServerConfig) -> (
        checks: [CheckLine], provisioned: [String], disks: [RestoreDisk]?
    ) {
        let provider: any CloudSnapshots.SnapshotProvider
        let instance: InstanceInfo
        do throws(SnapfleetError) {
            provider = try ProviderFactory.provider(for: recoveryConfig)
            guard let name = request.recoveryInstance ?? recoveryConfig.snapshotInstance else {
                throw SnapfleetError(.invalidConfiguration, "no recovery instance", hint: "give --recovery-instance or set snapshot_instance")
            }
            instance = try provider.instance(name)
        } catch {
            return ([CheckLine(name: "recovery instance", passed: false, detail: error.message, hint: error.hint)], [], nil)
        }
        var checks = [CheckLine(name: "recovery instance", passed: true, detail: instance.id)]
        var provisioned: [String] = []
        if request.provision {
            for disk in plan.disks {
                do {
                    let attached = try provider.provisionDisk(from: disk.snapshot, deviceName: disk.deviceName ?? "", instance: instance)
                    provisioned.append("\(attached.id) from \(disk.snapshot.id) as \(attached.deviceName)")
                } catch {
                    checks.append(CheckLine(name: "create disk from \(disk.snapshot.id)", passed: false, detail: error.message, hint: error.hint))
                }
            }
        }
        let attached: [AttachedDisk]
        do { attached = try provider.attachedDisks(of: instance) } catch {
            return (checks + [CheckLine(name: "attached disks", passed: false, detail: error.message)], provisioned, nil)
        }
        var disks: [RestoreDisk] = []
        for disk in plan.disks {
            let (line, found) = match(disk, attached: attached, instance: instance)
            checks.append(line)
            if let found {
                disks.append(
                    RestoreDisk(
                        snapshotID: disk.snapshot.id, deviceName: found.deviceName, deviceNaming: disk.naming == .path ? nil : disk.naming,
                        diskID: found.id, mountPoint: disk.mountPoint, mountOptions: disk.mountOptions))
            }
        }
        return (checks, provisioned, disks.count == plan.disks.count ? disks : nil)
    }

    /// Exactly one attached disk must come from the snapshot.
    static func match(_ disk: RecordedDisk, attached: [AttachedDisk], instance: InstanceInfo) -> (CheckLine, AttachedDisk?) {
        let name = "disk from \(disk.snapshot.id)"
        let from = attached.filter { $0.sourceSnapshotID == disk.snapshot.id }
        switch from.count {
        case 1:
            return (CheckLine(name: name, passed: true, detail: "\(from[0].id) attached as \(from[0].deviceName)"), from[0])
        case 0:
            return (
                CheckLine(
                    name: name, passed: false, detail: "no disk attached to \(instance.id) was created from \(disk.snapshot.id)",
                    hint: "create one from the snapshot, attach it and mount it at \(disk.mountPoint), or use --provision"), nil
            )
        default:
            return (
                CheckLine(
                    name: name, passed: false,
                    detail: "several disks attached to \(instance.id) come from it: \(from.map(\.id).joined(separator: ", "))",
                    hint: "detach all but one"), nil
            )
        }
    }
}
