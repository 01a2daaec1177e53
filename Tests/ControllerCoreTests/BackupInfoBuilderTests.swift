import Catalog
import CloudSnapshots
import SnapfleetCore
import SnapfleetProtocol
import Testing

@testable import ControllerCore

/// The inputs of the spec's §3.4 AWS example (two volumes, the second one locked, one tablespace).
enum InfoFixture {
    static let label =
        "START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\n"
        + "BACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-03-15 02:15:01 UTC\n"
        + "LABEL: Barman backup pg-main 20240315T021500\nSTART TIMELINE: 1\n"
    static let start = BackupStartPoint(
        lsn: "3/A2000028", walFile: "0000000100000003000000A2", timeline: 1, time: "2024-03-15T02:15:01.123456+00:00")
    static let stop = BackupStopped(
        backupID: "20240315T021500", start: start, stopLSN: "3/A2000138", stopWALFile: "0000000100000003000000A2",
        stopTime: "2024-03-15T02:16:12.654321+00:00", backupLabel: label, tablespaceMap: "")
    static let pgdata = DiskInfo(configuredName: "pgdata", id: "vol-0aaaaaaaaaaaaaaaa", deviceName: "/dev/sdf")
    static let tbs = DiskInfo(configuredName: "vol-0123456789abcdef0", id: "vol-0123456789abcdef0", deviceName: "/dev/sdg")
    static let pgdataSnap = TakenSnapshot(
        disk: pgdata,
        snapshot: SnapshotInfo(id: "snap-0a1b2c3d4e5f67890", name: "pgdata-20240315t021500", diskID: pgdata.id, state: .completed))
    static let tbsSnap = TakenSnapshot(
        disk: tbs,
        snapshot: SnapshotInfo(
            id: "snap-0f9e8d7c6b5a43210", name: "vol-0123456789abcdef0-20240315t021500", diskID: tbs.id, state: .completed,
            lockMode: "compliance"))
    static let facts = PostgresFacts(
        serverVersionNum: 160002, serverVersion: "16.2", systemIdentifier: "7345123456789012345", dataDirectory: "/opt/postgres/data",
        tablespaces: [Tablespace(name: "tbs1", oid: 16387, location: "/opt/postgres/tablespaces/tbs1")], walDirectory: nil,
        walLevel: "replica", archiveMode: "on", archiveCommand: "true", walSegmentSize: 16_777_216, inRecovery: false)

    static func placement(_ disk: DiskInfo, _ target: String?) -> DiskPlacement {
        DiskPlacement(
            id: disk.id, deviceName: disk.deviceName, localDevice: "/dev/nvme1n1",
            mounts: target.map { [MountPoint(target: $0, options: "rw,noatime")] } ?? [], error: nil)
    }

    static let context = BackupContext(
        provider: "aws",
        instance: InstanceInfo(id: "i-0abc", zone: "eu-west-1a", providerFacts: ["account_id": "123456789012", "region": "eu-west-1"]),
        disks: [pgdata, tbs], placements: [placement(pgdata, "/opt/postgres"), placement(tbs, "/opt/postgres/tablespaces")], facts: facts,
        backupName: "nightly")

    static func record(_ kind: BackupRecordKind, snapshots: [TakenSnapshot] = [pgdataSnap, tbsSnap]) -> BackupRecord {
        BackupRecord(
            kind: kind, backupID: "20240315T021500", server: "pg-main", label: "Barman backup pg-main 20240315T021500",
            start: start, stop: stop, snapshots: snapshots, failure: nil, copyTime: 70.123456)
    }

    /// The spec's §3.4 file, verbatim.
    static let awsExample = #"""
        backup_label='START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-03-15 02:15:01 UTC\nLABEL: Barman backup pg-main 20240315T021500\nSTART TIMELINE: 1\n'
        backup_name=nightly
        begin_offset=40
        begin_time=2024-03-15 02:15:01.123456+00:00
        begin_wal=0000000100000003000000A2
        begin_xlog=3/A2000028
        children_backup_ids=None
        cluster_size=2437898752
        compression=None
        config_file=/opt/postgres/data/postgresql.conf
        copy_stats={'copy_time': 70.123456, 'total_time': 70.123456}
        data_checksums=on
        deduplicated_size=None
        encryption=None
        end_offset=312
        end_time=2024-03-15 02:16:12.654321+00:00
        end_wal=0000000100000003000000A2
        end_xlog=3/A2000138
        error=None
        hba_file=/opt/postgres/data/pg_hba.conf
        ident_file=/opt/postgres/data/pg_ident.conf
        included_files=None
        mode=None
        parent_backup_id=None
        pgdata=/opt/postgres/data
        server_name=pg-main
        size=None
        snapshots_info={'provider': 'aws', 'provider_info': {'account_id': '123456789012', 'region': 'eu-west-1'}, 'snapshots': [{'mount': {'mount_options': 'rw,noatime', 'mount_point': '/opt/postgres'}, 'provider': {'device_name': '/dev/sdf', 'snapshot_id': 'snap-0a1b2c3d4e5f67890', 'snapshot_name': 'pgdata-20240315t021500', 'snapshot_lock_mode': None}}, {'mount': {'mount_options': 'rw,noatime', 'mount_point': '/opt/postgres/tablespaces'}, 'provider': {'device_name': '/dev/sdg', 'snapshot_id': 'snap-0f9e8d7c6b5a43210', 'snapshot_name': 'vol-0123456789abcdef0-20240315t021500', 'snapshot_lock_mode': 'compliance'}}]}
        status=DONE
        summarize_wal=None
        systemid=7345123456789012345
        tablespaces=[('tbs1', 16387, '/opt/postgres/tablespaces/tbs1')]
        timeline=1
        version=160002
        xlog_segment_size=16777216

        """#
}

@Suite("BackupInfoBuilder")
struct BackupInfoBuilderTests {
    @Test("a DONE AWS record gives the spec's §3.4 example byte for byte once the facts snapfleet does not collect are added")
    func doneAWSMatchesSpecExample() throws {
        var info = try BackupInfoBuilder.backupInfo(InfoFixture.record(.done), context: InfoFixture.context)
        // Not collected by snapfleet (PostgresFacts lacks them), so the builder leaves them None:
        #expect(info.clusterSize == nil && info.configFile == nil && info.hbaFile == nil)
        #expect(info.identFile == nil && info.dataChecksums == nil)
        info.clusterSize = 2_437_898_752
        info.configFile = "/opt/postgres/data/postgresql.conf"
        info.dataChecksums = "on"
        info.hbaFile = "/opt/postgres/data/pg_hba.conf"
        info.identFile = "/opt/postgres/data/pg_ident.conf"
        #expect(try info.encoded() == InfoFixture.awsExample)
    }

    @Test("a STARTED record has the begin fields but no end fields, label, error, copy_stats or snapshots_info")
    func startedRecord() throws {
        var record = InfoFixture.record(.started, snapshots: [])
        record.stop = nil
        record.copyTime = nil
        record.start?.time = "2024-03-15T03:15:01.5+01:00"
        let info = try BackupInfoBuilder.backupInfo(record, context: InfoFixture.context)
        #expect(info.status == .started)
        #expect(info.beginTime?.description == "2024-03-15 03:15:01.500000+01:00")
        #expect(info.beginWAL == "0000000100000003000000A2" && info.beginOffset == 40 && info.timeline == 1)
        #expect(info.endTime == nil && info.endXlog == nil && info.endWAL == nil && info.endOffset == nil)
        #expect(info.backupLabel == nil && info.error == nil && info.copyStats == nil && info.snapshotsInfo == nil)
        #expect(info.mode == nil && info.serverName == "pg-main" && info.backupName == "nightly")
        #expect(try !info.encoded().contains("snapshots_info="))
    }

    @Test("a STARTED record written before backup_start has no begin fields either")
    func startedBeforeStart() throws {
        var record = InfoFixture.record(.started, snapshots: [])
        (record.start, record.stop) = (nil, nil)
        let info = try BackupInfoBuilder.backupInfo(record, context: InfoFixture.context)
        #expect(info.beginTime == nil && info.beginXlog == nil && info.timeline == nil)
        #expect(info.systemID == "7345123456789012345" && info.version == 160002)
    }

    @Test("a FAILED record lists only the undeletable snapshot and carries the record's error text")
    func failedWithUndeletableSnapshot() throws {
        var record = InfoFixture.record(.failed, snapshots: [InfoFixture.tbsSnap])
        record.stop = nil
        record.failure = BackupFailure(step: .snapshotCompletion, cause: "Waiter SnapshotCompleted failed\nmore")
        let info = try BackupInfoBuilder.backupInfo(record, context: InfoFixture.context)
        #expect(info.status == .failed)
        #expect(
            info.error == "failure snapshot completion (Waiter SnapshotCompleted failed); snapshots not deleted: snap-0f9e8d7c6b5a43210")
        #expect(info.backupLabel == nil && info.endTime == nil && info.endWAL == nil && info.copyStats == nil)
        guard case .aws(let aws) = info.snapshotsInfo else {
            Issue.record("expected AWS snapshots_info")
            return
        }
        #expect(aws.snapshots.map(\.snapshotID) == ["snap-0f9e8d7c6b5a43210"])
        #expect(aws.snapshots.first?.mount.mountPoint == "/opt/postgres/tablespaces")
        #expect(try info.encoded().contains("status=FAILED\n"))
    }

    @Test("a FAILED record keeps an undeletable snapshot whose disk is not mounted, with a None mount")
    func failedUnmountedDisk() throws {
        var record = InfoFixture.record(.failed, snapshots: [InfoFixture.pgdataSnap])
        record.failure = BackupFailure(step: .stop, cause: "boom")
        var context = InfoFixture.context
        context.placements = [InfoFixture.placement(InfoFixture.pgdata, nil)]
        let info = try BackupInfoBuilder.backupInfo(record, context: context)
        #expect(info.snapshotsInfo?.mounts == [SnapshotMount(mountPoint: nil, mountOptions: nil)])
        #expect(info.endXlog == "3/A2000138" && info.backupLabel == InfoFixture.label)
    }

    @Test("a local provider DONE record round-trips through BackupInfo(decoding:)")
    func localRoundTrip() throws {
        let image = "/var/lib/snapfleet/disks/pgdata.img"
        let disk = DiskInfo(configuredName: "pgdata", id: image, deviceName: "/dev/loop3", providerFacts: ["image_path": image])
        let snapshot = SnapshotInfo(
            id: "/var/lib/snapfleet/snapshots/pgdata-20240315t021500.img", name: "pgdata-20240315t021500", diskID: image,
            state: .completed)
        var facts = InfoFixture.facts
        facts.tablespaces = []
        let context = BackupContext(
            provider: "local", instance: InstanceInfo(id: "pg1.example", name: "pg1.example"), disks: [disk],
            placements: [InfoFixture.placement(disk, "/srv/pg")], facts: facts)
        let info = try BackupInfoBuilder.backupInfo(
            InfoFixture.record(.done, snapshots: [TakenSnapshot(disk: disk, snapshot: snapshot)]), context: context)
        let text = try info.encoded()
        #expect(try BackupInfo(decoding: text) == info)
        #expect(info.tablespaces == nil && !text.contains("backup_name="))
        #expect(
            text.contains(
                "snapshots_info={'provider': 'local', 'provider_info': {'host': 'pg1.example'}, 'snapshots': [{'mount': "
                    + "{'mount_options': 'rw,noatime', 'mount_point': '/srv/pg'}, 'provider': {'device_name': '/dev/loop3', "
                    + "'image_path': '/var/lib/snapfleet/disks/pgdata.img', 'snapshot_image_path': "
                    + "'/var/lib/snapfleet/snapshots/pgdata-20240315t021500.img', 'snapshot_name': 'pgdata-20240315t021500'}}]}\n"))
    }

    @Test("snapshots are written in plan order whatever order the record lists them in")
    func planOrder() throws {
        let info = try BackupInfoBuilder.backupInfo(
            InfoFixture.record(.done, snapshots: [InfoFixture.tbsSnap, InfoFixture.pgdataSnap]), context: InfoFixture.context)
        #expect(info.snapshotsInfo?.snapshotIdentifiers == ["snap-0a1b2c3d4e5f67890", "snap-0f9e8d7c6b5a43210"])
    }

    @Test("a snapshot whose disk is not in the context is refused")
    func unknownDisk() {
        let stray = DiskInfo(configuredName: "other", id: "vol-0ffff", deviceName: "/dev/sdh")
        let taken = TakenSnapshot(disk: stray, snapshot: SnapshotInfo(id: "snap-1", name: "x", diskID: stray.id, state: .completed))
        expectRefusal(InfoFixture.record(.done, snapshots: [taken]), containing: "not among the backup's disks")
    }

    @Test("a DONE record without a stop result, or without snapshots, is refused")
    func incompleteDone() {
        var record = InfoFixture.record(.done)
        record.stop = nil
        expectRefusal(record, containing: "lacks its start or stop")
        expectRefusal(InfoFixture.record(.done, snapshots: []), containing: "lists no snapshots")
    }

    @Test("a FAILED record without a failure is refused")
    func failedWithoutFailure() {
        expectRefusal(InfoFixture.record(.failed), containing: "has no failure")
    }

    @Test("a DONE record whose disk is not mounted is refused")
    func doneUnmounted() {
        var context = InfoFixture.context
        context.placements[1] = InfoFixture.placement(InfoFixture.tbs, nil)
        expectRefusal(InfoFixture.record(.done), context: context, containing: "is not mounted")
    }

    @Test("a server time without UTC offset, a bad LSN or an odd segment size is refused")
    func badInputs() {
        var record = InfoFixture.record(.done)
        record.start?.time = "2024-03-15T02:15:01"
        expectRefusal(record, containing: "has no UTC offset")
        record = InfoFixture.record(.done)
        record.stop?.stopLSN = "3-A2000138"
        expectRefusal(record, containing: "is not an LSN")
        var context = InfoFixture.context
        context.facts.walSegmentSize = 3_000_000
        expectRefusal(InfoFixture.record(.done), context: context, containing: "not a power of two")
    }

    @Test("a provider without a snapshots_info writer, and instances without what their provider records, are refused")
    func unsupportedProvider() {
        var context = InfoFixture.context
        context.provider = "oracle"
        expectRefusal(InfoFixture.record(.done), context: context, containing: "provider 'oracle'")
        context = InfoFixture.context
        context.instance.providerFacts["region"] = nil
        expectRefusal(InfoFixture.record(.done), context: context, containing: "no region")
        context = InfoFixture.context
        context.provider = "gcp"
        expectRefusal(InfoFixture.record(.done), context: context, containing: "has no project")
        context.provider = "azure"
        expectRefusal(InfoFixture.record(.done), context: context, containing: "has no subscription or resource group")
    }

    private func expectRefusal(
        _ record: BackupRecord, context: BackupContext = InfoFixture.context, containing text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: SnapfleetError.self, sourceLocation: sourceLocation) {
            try BackupInfoBuilder.backupInfo(record, context: context)
        }
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "no error")", sourceLocation: sourceLocation)
    }
}
