import SnapfleetCore

/// Where recovery stops: at most one target, plus the timeline and what to do on reaching it.
public struct RecoveryTarget: WireBody {
    /// `recovery_target_time` (a timestamp PostgreSQL accepts, e.g. `2026-11-25 21:30:00+00`).
    public var time: String?
    /// `recovery_target_lsn`.
    public var lsn: String?
    /// `recovery_target_xid`.
    public var xid: String?
    /// `recovery_target_name` (a restore point).
    public var name: String?
    /// `recovery_target = 'immediate'`: stop as soon as the backup is consistent.
    public var immediate: Bool
    /// `recovery_target_timeline`: `latest`, `current` or a number.
    public var timeline: String?
    /// `recovery_target_action`: `pause`, `promote` or `shutdown`.
    public var action: String?

    /// Creates a target (none: recover to the end of the archive).
    public init(
        time: String? = nil, lsn: String? = nil, xid: String? = nil, name: String? = nil, immediate: Bool = false, timeline: String? = nil,
        action: String? = nil
    ) {
        self.time = time
        self.lsn = lsn
        self.xid = xid
        self.name = name
        self.immediate = immediate
        self.timeline = timeline
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case time, lsn, xid, name, immediate, timeline, action
    }

    /// How many targets are set (PostgreSQL allows at most one).
    public var targetCount: Int { [time, lsn, xid, name].compactMap { $0 }.count + (immediate ? 1 : 0) }

    /// At most one target, each in PostgreSQL's form; values end up in postgresql.auto.conf.
    public func validate() throws(SnapfleetError) {
        guard targetCount <= 1 else { throw SnapfleetError(.invalidBody, "give at most one recovery target") }
        if let time { try Wire.checkText(time, field: "target.time", maxLength: 64) }
        if let lsn { try Wire.checkLSN(lsn, field: "target.lsn") }
        if let xid { guard let value = UInt64(xid), value > 0 else { throw SnapfleetError(.invalidBody, "target.xid must be a transaction id") } }
        if let name { try Wire.checkText(name, field: "target.name", maxLength: 63) }
        if let timeline, !(timeline == "latest" || timeline == "current" || (UInt32(timeline).map { $0 > 0 } ?? false)) {
            throw SnapfleetError(.invalidBody, "target.timeline must be latest, current or a positive number")
        }
        if let action, !["pause", "promote", "shutdown"].contains(action) {
            throw SnapfleetError(.invalidBody, "target.action must be pause, promote or shutdown")
        }
    }
}

/// `restore_run`: restore a backup onto a recovery server (operator → controller).
public struct RestoreRunRequest: WireBody {
    /// The server whose backup it is.
    public var server: String
    /// A backup id, a backup name, or `latest`, `oldest`, `last-failed`.
    public var backup: String
    /// The configured server whose agent prepares the restore (may be `server` itself).
    public var recoveryServer: String
    /// The instance the disks are attached to; the recovery server's `snapshot_instance` by default.
    public var recoveryInstance: String?
    /// Where recovery stops.
    public var target: RecoveryTarget
    /// Create the disks from the snapshots, attach and mount them (beyond barman-cloud).
    public var provision: Bool

    /// Creates a request.
    public init(server: String, backup: String, recoveryServer: String, recoveryInstance: String? = nil, target: RecoveryTarget, provision: Bool) {
        self.server = server
        self.backup = backup
        self.recoveryServer = recoveryServer
        self.recoveryInstance = recoveryInstance
        self.target = target
        self.provision = provision
    }

    enum CodingKeys: String, CodingKey {
        case server, backup, target, provision
        case recoveryServer = "recovery_server"
        case recoveryInstance = "recovery_instance"
    }

    /// Server names, a bounded backup reference, a valid target.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        try Wire.checkServerName(recoveryServer, field: "recovery_server")
        try Wire.checkText(backup, field: "backup", maxLength: 256)
        if let recoveryInstance { try Wire.checkText(recoveryInstance, field: "recovery_instance", maxLength: 256) }
        try target.validate()
    }
}

/// `restore_result`: what the restore checked, created and wrote (controller → operator).
public struct RestoreRunOutcome: WireBody {
    /// The backup restored.
    public var backupID: String
    /// The recovery server.
    public var recoveryServer: String
    /// Every check, in order (cloud first, then the host).
    public var checks: [CheckLine]
    /// Disks created, attached and mounted (`--provision`).
    public var provisioned: [String]
    /// Files written into the data directory.
    public var written: [String]
    /// Whether the data directory is ready for PostgreSQL to start.
    public var ready: Bool

    /// Creates an outcome.
    public init(backupID: String, recoveryServer: String, checks: [CheckLine], provisioned: [String], written: [String], ready: Bool) {
        self.backupID = backupID
        self.recoveryServer = recoveryServer
        self.checks = checks
        self.provisioned = provisioned
        self.written = written
        self.ready = ready
    }

    enum CodingKeys: String, CodingKey {
        case checks, provisioned, written, ready
        case backupID = "backup_id"
        case recoveryServer = "recovery_server"
    }

    /// Bounded lists, valid lines.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(backupID, field: "backup_id", maxLength: 64)
        try Wire.checkServerName(recoveryServer, field: "recovery_server")
        for check in checks { try check.validate() }
        for item in provisioned + written { try Wire.checkText(item, field: "provisioned/written") }
    }
}

/// One disk of a backup as the recovery host must have it.
public struct RestoreDisk: WireBody {
    /// The snapshot it was created from (for messages).
    public var snapshotID: String
    /// The device it is attached as on the recovery instance (`/dev/sdf`, `/dev/loop3`, `pgdata`, `lun2`).
    public var deviceName: String
    /// How `deviceName` names the device; absent means `.path` (AWS, local).
    public var deviceNaming: DeviceNaming?
    /// `deviceNaming`, `.path` when absent.
    public var naming: DeviceNaming { deviceNaming ?? .path }
    /// The provider's id of the disk (`vol-…`: NVMe serials name it).
    public var diskID: String
    /// Where it was mounted when the backup was taken.
    public var mountPoint: String
    /// With which options (findmnt's OPTIONS, compared as strings).
    public var mountOptions: String

    /// Describes a disk.
    public init(
        snapshotID: String, deviceName: String, deviceNaming: DeviceNaming? = nil, diskID: String, mountPoint: String, mountOptions: String
    ) {
        self.snapshotID = snapshotID
        self.deviceName = deviceName
        self.deviceNaming = deviceNaming
        self.diskID = diskID
        self.mountPoint = mountPoint
        self.mountOptions = mountOptions
    }

    enum CodingKeys: String, CodingKey {
        case snapshotID = "snapshot_id"
        case deviceName = "device_name"
        case deviceNaming = "device_naming"
        case diskID = "disk_id"
        case mountPoint = "mount_point"
        case mountOptions = "mount_options"
    }

    /// A device name of the naming given, absolute mount point, bounded texts.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(snapshotID, field: "disks.snapshot_id", maxLength: 1024)
        try naming.check(deviceName, field: "disks.device_name")
        try Wire.checkText(diskID, field: "disks.disk_id", maxLength: 1024)
        try Wire.checkPath(mountPoint, field: "disks.mount_point")
        try Wire.checkText(mountOptions, field: "disks.mount_options", maxLength: 1024)
    }
}

/// `restore_prepare`: check the recovery host and (unless `check_only`) prepare the data
/// directory for recovery (controller → agent). The agent re-checks everything before writing.
public struct RestorePrepare: WireBody {
    /// The backup being restored.
    public var backupID: String
    /// Only check (nothing is mounted or written).
    public var checkOnly: Bool
    /// Mount the disks at their recorded points first (needs `allow_mount: true` on the agent).
    public var mount: Bool
    /// The backup's data directory.
    public var dataDirectory: String
    /// The backup's disks.
    public var disks: [RestoreDisk]
    /// The `backup_label` to write.
    public var backupLabel: String
    /// The `tablespace_map` to write, if the backup has one.
    public var tablespaceMap: String?
    /// Where recovery stops.
    public var target: RecoveryTarget

    /// Creates a request.
    public init(
        backupID: String, checkOnly: Bool, mount: Bool, dataDirectory: String, disks: [RestoreDisk], backupLabel: String,
        tablespaceMap: String?, target: RecoveryTarget
    ) {
        self.backupID = backupID
        self.checkOnly = checkOnly
        self.mount = mount
        self.dataDirectory = dataDirectory
        self.disks = disks
        self.backupLabel = backupLabel
        self.tablespaceMap = tablespaceMap
        self.target = target
    }

    enum CodingKeys: String, CodingKey {
        case disks, mount, target
        case backupID = "backup_id"
        case checkOnly = "check_only"
        case dataDirectory = "data_directory"
        case backupLabel = "backup_label"
        case tablespaceMap = "tablespace_map"
    }

    /// A backup id, an absolute data directory, 1–64 valid disks, bounded file contents, a valid target.
    public func validate() throws(SnapfleetError) {
        try Wire.checkBackupID(backupID)
        try Wire.checkPath(dataDirectory, field: "data_directory")
        guard (1...64).contains(disks.count) else { throw SnapfleetError(.invalidBody, "disks must list 1 to 64 disks") }
        for disk in disks { try disk.validate() }
        guard backupLabel.utf8.count <= ProtocolLimits.maxLabelFileLength,
            tablespaceMap.map({ $0.utf8.count <= ProtocolLimits.maxLabelFileLength }) ?? true
        else { throw SnapfleetError(.invalidBody, "backup_label and tablespace_map must be at most \(ProtocolLimits.maxLabelFileLength) bytes") }
        try target.validate()
    }
}

/// `restore_report`: the agent's checks and what it mounted, wrote and removed.
public struct RestoreReport: WireBody {
    /// One line per check.
    public var checks: [CheckLine]
    /// Mount points it mounted.
    public var mounted: [String]
    /// Files written.
    public var written: [String]
    /// Files removed (what a crash-consistent snapshot leaves that must not survive).
    public var removed: [String]

    /// Creates a report.
    public init(checks: [CheckLine], mounted: [String] = [], written: [String] = [], removed: [String] = []) {
        self.checks = checks
        self.mounted = mounted
        self.written = written
        self.removed = removed
    }

    /// Whether every check passed.
    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// Valid lines and paths.
    public func validate() throws(SnapfleetError) {
        for check in checks { try check.validate() }
        for path in mounted + written + removed { try Wire.checkPath(path, field: "mounted/written/removed") }
    }
}
