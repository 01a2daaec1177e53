import Catalog
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import ControllerCore

/// `restore SERVER latest|oldest|last-failed|NAME` resolved as barman-cloud resolves them, on a
/// catalog holding backups of both tools.
@Suite("BackupResolver: ids, names and shortcuts over a catalog both tools write")
struct BackupResolverTests {
    /// A `backup.info` (barman-cloud's own example, §3.4) with this status and name.
    static func info(status: String, name: String?) -> String {
        #"""
        backup_label='START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-03-15 02:15:01 UTC\nLABEL: Barman backup pg-main 20240315T021500\nSTART TIMELINE: 1\n'
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
        summarize_wal=None
        systemid=7345123456789012345
        tablespaces=[('tbs1', 16387, '/opt/postgres/tablespaces/tbs1')]
        timeline=1
        version=160002
        xlog_segment_size=16777216
        status=\#(status)
        backup_name=\#(name ?? "None")


        """#
    }

    /// A file:// catalog for pg1 holding `backups` (id → backup.info text; nil: a directory without one).
    func catalog(_ backups: [String: String?]) throws -> (TemporaryDirectory, BackupResolver) {
        let root = try TemporaryDirectory(prefix: "resolver")
        for (id, text) in backups {
            let directory = root.file("pg1/base/\(id)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let text {
                try text.write(toFile: directory + "/backup.info", atomically: true, encoding: .utf8)
            } else {
                try "label".write(toFile: directory + "/backup_label", atomically: true, encoding: .utf8)
            }
        }
        let store = try CatalogStore.open(destination: "file://\(root.path)", server: "pg1", aws: nil)
        return (root, BackupResolver(catalog: store))
    }

    @Test("latest and oldest are the newest and oldest DONE backup by id, whichever tool wrote it; FAILED ones are passed over")
    func shortcutsOrderByID() throws {
        // barman-cloud on a host in UTC+1 wrote 20251125T100000 at 09:00 UTC; snapfleet wrote the
        // others. Both name backups by wall-clock time and both order them by id, as here.
        let (root, resolver) = try catalog([
            "20251125T093000": Self.info(status: "DONE", name: "snapfleet-morning"),
            "20251125T100000": Self.info(status: "DONE", name: "barman-nightly"),
            "20251124T230000": Self.info(status: "DONE", name: nil),
            "20251125T110000": Self.info(status: "FAILED", name: nil),
        ])
        _ = root
        #expect(try resolver.resolve("latest").0.rawValue == "20251125T100000")
        #expect(try resolver.resolve("last").0.rawValue == "20251125T100000")
        #expect(try resolver.resolve("oldest").0.rawValue == "20251124T230000")
        #expect(try resolver.resolve("last-failed").0.rawValue == "20251125T110000")
        #expect(try resolver.resolve("snapfleet-morning").0.rawValue == "20251125T093000")
    }

    @Test("an unreadable backup.info stops latest with an error naming its key, rather than restoring an older backup")
    func unreadableInfoIsAnError() throws {
        let (root, resolver) = try catalog([
            "20251125T093000": Self.info(status: "DONE", name: nil),
            "20251125T100000": "status=DONE\nthis is not barman's format\n",
        ])
        _ = root
        let error = try #require(throws: SnapfleetError.self) { try resolver.resolve("latest") }
        #expect(error.message.contains("pg1/base/20251125T100000/backup.info"), "\(error.message)")
        #expect(error.hint?.contains("give a backup id") == true)
        #expect(try resolver.resolve("20251125T093000").0.rawValue == "20251125T093000", "an id still resolves")
    }

    @Test("a backup directory without backup.info is not a backup (barman-cloud skips it too)")
    func directoryWithoutInfoIsSkipped() throws {
        let (root, resolver) = try catalog(["20251125T093000": Self.info(status: "DONE", name: nil), "20251125T100000": nil])
        _ = root
        #expect(try resolver.resolve("latest").0.rawValue == "20251125T093000")
    }

    @Test("new backup ids are the controller's wall-clock time in its time zone, as barman-cloud names them")
    func backupIDsInLocalTime() throws {
        let (root, _) = try catalog([:])
        _ = root
        let store = try CatalogStore.open(destination: "file://\(root.path)", server: "pg1", aws: nil)
        let now = Date(timeIntervalSince1970: 1_764_061_200)  // 2025-11-25 09:00:00 UTC
        #expect(try store.freshBackupID(now: now, timeZone: TimeZone(identifier: "UTC")!).rawValue == "20251125T090000")
        #expect(try store.freshBackupID(now: now, timeZone: TimeZone(identifier: "Europe/Paris")!).rawValue == "20251125T100000")
        #expect(try store.freshBackupID(now: now, timeZone: TimeZone(identifier: "America/New_York")!).rawValue == "20251125T040000")
    }
}
