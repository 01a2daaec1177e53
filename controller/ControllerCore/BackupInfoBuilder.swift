import Catalog
import CloudSnapshots
import SnapfleetCore
import SnapfleetProtocol

/// Everything a `BackupRecord` does not carry that barman's `backup.info` needs.
public struct BackupContext: Sendable {
    /// The provider's name as recorded in `snapshots_info`: `aws`, `gcp`, `azure` or `local`.
    public var provider: String
    /// The instance; AWS reads `account_id` and `region` from its `providerFacts`.
    public var instance: InstanceInfo
    /// The planned disks, in plan order (the order of `snapshots_info.snapshots`).
    public var disks: [DiskInfo]
    /// The agent's `disk_map` answer for `disks`: each disk's mount TARGET and OPTIONS.
    public var placements: [DiskPlacement]
    /// PostgreSQL's facts: version, system identifier, data directory, tablespaces, segment size.
    public var facts: PostgresFacts
    /// The operator's name for the backup (`backup_name`), if any.
    public var backupName: String?

    /// Creates a context.
    public init(
        provider: String, instance: InstanceInfo, disks: [DiskInfo], placements: [DiskPlacement], facts: PostgresFacts,
        backupName: String? = nil
    ) {
        self.provider = provider
        self.instance = instance
        self.disks = disks
        self.placements = placements
        self.facts = facts
        self.backupName = backupName
    }
}

/// Turns a `BackupRecord` into the `backup.info` barman-cloud writes for the same backup (spec §3, §4.4).
public enum BackupInfoBuilder {
    /// The `backup.info` for `record`; throws `invalid_body` when the record or context cannot make a valid one.
    public static func backupInfo(_ record: BackupRecord, context: BackupContext) throws(SnapfleetError) -> BackupInfo {
        try checkComplete(record)
        let segmentSize = try segmentSize(context.facts.walSegmentSize)
        var info = BackupInfo(status: status(record.kind))
        fillFacts(&info, record: record, context: context)
        if let start = record.start ?? record.stop?.start { try fillBegin(&info, start: start, segmentSize: segmentSize) }
        guard record.kind != .started else { return info }
        if let stop = record.stop { try fillEnd(&info, stop: stop, segmentSize: segmentSize) }
        info.error = record.error
        if record.kind == .done, let copyTime = record.copyTime {
            info.copyStats = BackupInfo.copyStats(copyTime: copyTime, totalTime: copyTime)
        }
        info.snapshotsInfo = try snapshotsInfo(record, context: context)
        return info
    }

    // MARK: - Record checks and plain fields

    /// DONE needs start, stop and snapshots; FAILED needs its failure.
    static func checkComplete(_ record: BackupRecord) throws(SnapfleetError) {
        switch record.kind {
        case .done:
            guard record.start ?? record.stop?.start != nil, record.stop != nil else {
                throw invalid("DONE record of backup \(record.backupID) lacks its start or stop result")
            }
            guard !record.snapshots.isEmpty else { throw invalid("DONE record of backup \(record.backupID) lists no snapshots") }
        case .failed:
            guard record.failure != nil else { throw invalid("FAILED record of backup \(record.backupID) has no failure") }
        case .started:
            return
        }
    }

    /// barman's status constant for the record kind.
    static func status(_ kind: BackupRecordKind) -> BackupStatus {
        switch kind {
        case .started: .started
        case .done: .done
        case .failed: .failed
        }
    }

    /// The fields barman collects before `pg_backup_start` (`_pg_get_metadata`) plus names; `mode` stays None.
    static func fillFacts(_ info: inout BackupInfo, record: BackupRecord, context: BackupContext) {
        info.serverName = record.server
        info.backupName = context.backupName
        info.systemID = context.facts.systemIdentifier
        info.version = context.facts.serverVersionNum
        info.pgdata = context.facts.dataDirectory
        info.xlogSegmentSize = context.facts.walSegmentSize
        let tablespaces = context.facts.tablespaces.map { BackupTablespace(name: $0.name, oid: Int($0.oid), location: $0.location) }
        info.tablespaces = tablespaces.isEmpty ? nil : tablespaces
    }

    /// `begin_*` and `timeline` from the start point, computed as barman computes them.
    static func fillBegin(_ info: inout BackupInfo, start: BackupStartPoint, segmentSize: UInt64) throws(SnapfleetError) {
        let lsn = try parseLSN(start.lsn, field: "start.lsn")
        info.beginTime = try serverTime(start.time, field: "start.time")
        info.beginXlog = lsnText(lsn)
        info.timeline = Int(start.timeline)
        info.beginWAL = walName(lsn: lsn, timeline: start.timeline, segmentSize: segmentSize)
        info.beginOffset = Int(lsn & (segmentSize - 1))
    }

    /// `backup_label` and `end_*` from the stop result; the stop timeline is the one in `stop_wal_file`.
    static func fillEnd(_ info: inout BackupInfo, stop: BackupStopped, segmentSize: UInt64) throws(SnapfleetError) {
        let lsn = try parseLSN(stop.stopLSN, field: "stop_lsn")
        info.backupLabel = stop.backupLabel
        info.endTime = try serverTime(stop.stopTime, field: "stop_time")
        info.endXlog = lsnText(lsn)
        info.endWAL = walName(lsn: lsn, timeline: try timeline(ofWAL: stop.stopWALFile), segmentSize: segmentSize)
        info.endOffset = Int(lsn & (segmentSize - 1))
    }

    // MARK: - WAL arithmetic and times

    /// The segment size as a power of two from 1 MiB to 1 GiB, as PostgreSQL allows.
    static func segmentSize(_ size: Int) throws(SnapfleetError) -> UInt64 {
        guard (1 << 20...1 << 30).contains(size), size & (size - 1) == 0 else {
            throw invalid("wal_segment_size \(size) is not a power of two between 1 MiB and 1 GiB")
        }
        return UInt64(size)
    }

    /// `X/X` → the 64-bit LSN.
    static func parseLSN(_ text: String, field: String) throws(SnapfleetError) -> UInt64 {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ (1...8).contains($0.count) }), let high = UInt64(parts[0], radix: 16),
            let low = UInt64(parts[1], radix: 16)
        else { throw invalid("\(field) '\(text)' is not an LSN like 3/A2000028") }
        return high << 32 | low
    }

    /// `%X/%X`, as PostgreSQL prints an LSN.
    static func lsnText(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    /// barman's segment name: `%08X%08X%08X` of timeline, `lsn >> 32`, and the segment within that log.
    static func walName(lsn: UInt64, timeline: UInt32, segmentSize: UInt64) -> String {
        let segment = (lsn & (segmentSize * (0xFFFF_FFFF / segmentSize))) / segmentSize
        return hex8(UInt64(timeline)) + hex8(lsn >> 32) + hex8(segment)
    }

    /// The timeline of a 24-hex-digit segment name.
    static func timeline(ofWAL name: String) throws(SnapfleetError) -> UInt32 {
        guard name.utf8.count == 24, let timeline = UInt32(name.prefix(8), radix: 16), UInt64(name.suffix(16), radix: 16) != nil else {
            throw invalid("stop_wal_file '\(name)' is not a WAL segment name")
        }
        return timeline
    }

    /// Eight upper-case hex digits.
    static func hex8(_ value: UInt64) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// A server time (RFC 3339 with offset) as barman's `str(datetime)`, keeping the server's offset.
    static func serverTime(_ text: String, field: String) throws(SnapfleetError) -> PythonDateTime {
        let parsed: PythonDateTime
        do {
            parsed = try PythonDateTime(parsing: text)
        } catch {
            throw invalid("\(field) '\(text)' is not an RFC 3339 time with microseconds at most: \(error)")
        }
        guard parsed.utcOffset != nil else { throw invalid("\(field) '\(text)' has no UTC offset") }
        return parsed
    }

    /// An `invalid_body` error.
    static func invalid(_ message: String) -> SnapfleetError { SnapfleetError(.invalidBody, message) }
}

// MARK: - snapshots_info

extension BackupInfoBuilder {
    /// One snapshot with the planned disk it is of and that disk's mount at backup time.
    struct PlacedSnapshot {
        let disk: DiskInfo
        let snapshot: SnapshotInfo
        let mount: SnapshotMount
    }

    /// `snapshots_info` for DONE (every snapshot) and FAILED (those left behind); nil when there are none.
    static func snapshotsInfo(_ record: BackupRecord, context: BackupContext) throws(SnapfleetError) -> SnapshotsInfo? {
        guard !record.snapshots.isEmpty else { return nil }
        let placed = try placedSnapshots(record, context: context)
        switch context.provider {
        case "aws": return .aws(try awsInfo(placed, context: context))
        case "gcp": return .gcp(try gcpInfo(placed, context: context))
        case "azure": return .azure(try azureInfo(placed, context: context))
        case "local": return .local(localInfo(placed, context: context))
        default:
            throw SnapfleetError(
                .invalidConfiguration, "cannot record snapshots of provider '\(context.provider)' in backup.info",
                hint: "backup.info is written for the aws, gcp, azure and local providers")
        }
    }

    /// The record's snapshots in plan order, each with its planned disk and mount.
    static func placedSnapshots(_ record: BackupRecord, context: BackupContext) throws(SnapfleetError) -> [PlacedSnapshot] {
        var placed: [(index: Int, snapshot: PlacedSnapshot)] = []
        for taken in record.snapshots {
            guard let index = context.disks.firstIndex(where: { $0.id == taken.disk.id }) else {
                throw invalid("snapshot \(taken.snapshot.id) is of disk \(taken.disk.id), which is not among the backup's disks")
            }
            let disk = context.disks[index]
            guard taken.snapshot.diskID.isEmpty || taken.snapshot.diskID == disk.id else {
                throw invalid("snapshot \(taken.snapshot.id) is of disk \(taken.snapshot.diskID), not of \(disk.id)")
            }
            let mount = try mount(of: disk, context: context, required: record.kind == .done)
            placed.append((index, PlacedSnapshot(disk: disk, snapshot: taken.snapshot, mount: mount)))
        }
        return placed.sorted { $0.index < $1.index }.map(\.snapshot)
    }

    /// findmnt's first TARGET and OPTIONS for the disk; a FAILED record may leave them None rather than lose the snapshot.
    static func mount(of disk: DiskInfo, context: BackupContext, required: Bool) throws(SnapfleetError) -> SnapshotMount {
        guard let placement = context.placements.first(where: { $0.id == disk.id }) else {
            guard required else { return SnapshotMount(mountPoint: nil, mountOptions: nil) }
            throw invalid("disk \(disk.configuredName) (\(disk.id)) has no disk_map placement")
        }
        guard let first = placement.mounts.first else {
            guard required else { return SnapshotMount(mountPoint: nil, mountOptions: nil) }
            throw invalid("disk \(disk.configuredName) (\(disk.id)) is not mounted: \(placement.error ?? "disk_map found no mount")")
        }
        return SnapshotMount(mountPoint: first.target, mountOptions: first.options)
    }

    /// AWS: `account_id`/`region` from the instance, per snapshot the EC2 device name, id, `Name` and lock mode.
    static func awsInfo(_ placed: [PlacedSnapshot], context: BackupContext) throws(SnapfleetError) -> AWSSnapshotsInfo {
        guard let region = context.instance.providerFacts["region"] else {
            throw invalid("instance \(context.instance.id) has no region to record")
        }
        let snapshots = placed.map { item in
            AWSSnapshot(
                mount: item.mount, deviceName: item.disk.deviceName, snapshotID: item.snapshot.id, snapshotName: item.snapshot.name,
                snapshotLockMode: item.snapshot.lockMode)
        }
        return AWSSnapshotsInfo(accountID: context.instance.providerFacts["account_id"], region: region, snapshots: snapshots)
    }

    /// GCP: the project, per snapshot the attached disk's device name, the snapshot's name and project.
    static func gcpInfo(_ placed: [PlacedSnapshot], context: BackupContext) throws(SnapfleetError) -> GCPSnapshotsInfo {
        guard let project = context.instance.providerFacts["project"] else {
            throw invalid("instance \(context.instance.id) has no project to record")
        }
        let snapshots = placed.map { item in
            GCPSnapshot(mount: item.mount, deviceName: item.disk.deviceName, snapshotName: item.snapshot.name, snapshotProject: project)
        }
        return GCPSnapshotsInfo(project: project, snapshots: snapshots)
    }

    /// Azure: the subscription and resource group, per snapshot the disk's location, its LUN and the snapshot's name.
    static func azureInfo(_ placed: [PlacedSnapshot], context: BackupContext) throws(SnapfleetError) -> AzureSnapshotsInfo {
        let facts = context.instance.providerFacts
        guard let subscription = facts["subscription_id"], let group = facts["resource_group"] else {
            throw invalid("instance \(context.instance.id) has no subscription or resource group to record")
        }
        let snapshots = placed.map { item in
            AzureSnapshot(
                mount: item.mount, location: item.disk.providerFacts["location"], lun: item.disk.providerFacts["lun"].flatMap { Int($0) },
                snapshotName: item.snapshot.name)
        }
        return AzureSnapshotsInfo(subscriptionID: subscription, resourceGroup: group, snapshots: snapshots)
    }

    /// local: the host, per snapshot the loop device, source image, snapshot image and name.
    static func localInfo(_ placed: [PlacedSnapshot], context: BackupContext) -> LocalSnapshotsInfo {
        let snapshots = placed.map { item in
            LocalSnapshot(
                mount: item.mount, deviceName: item.disk.deviceName, imagePath: item.disk.providerFacts["image_path"] ?? item.disk.id,
                snapshotImagePath: item.snapshot.id, snapshotName: item.snapshot.name)
        }
        return LocalSnapshotsInfo(host: context.instance.id, snapshots: snapshots)
    }
}
