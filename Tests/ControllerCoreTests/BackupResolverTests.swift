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
        InfoFixture.awsExample.split(separator: "\n").map { line in
            if line.hasPrefix("status=") { return "status=\(status)" }
            if line.hasPrefix("backup_name=") { return "backup_name=\(name ?? "None")" }
            return String(line)
        }.joined(separator: "\n") + "\n"
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
        let store = try CatalogStore.open(fileDestination: "file://\(root.path)", server: "pg1")
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
        let store = try CatalogStore.open(fileDestination: "file://\(root.path)", server: "pg1")
        let now = Date(timeIntervalSince1970: 1_764_061_200)  // 2025-11-25 09:00:00 UTC
        #expect(try store.freshBackupID(now: now, timeZone: TimeZone(identifier: "UTC")!).rawValue == "20251125T090000")
        #expect(try store.freshBackupID(now: now, timeZone: TimeZone(identifier: "Europe/Paris")!).rawValue == "20251125T100000")
        #expect(try store.freshBackupID(now: now, timeZone: TimeZone(identifier: "America/New_York")!).rawValue == "20251125T040000")
    }
}
