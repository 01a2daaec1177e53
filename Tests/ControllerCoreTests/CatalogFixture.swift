import Catalog
import Foundation
import Messaging
import SnapfleetCore
import Synchronization
import TestSupport

@testable import ControllerCore

/// A file:// catalog of server pg1 built for a test: backups with local snapshot images, keep
/// annotations, WAL and history files; and the catalog operations over it.
final class CatalogFixture: @unchecked Sendable {
    let root: TemporaryDirectory
    let snapshotDirectory: String
    let catalog: CatalogStore
    let operations: CatalogOperations
    /// Every line the operations said.
    let said = Mutex<[String]>([])

    init(policy: String? = nil) throws {
        root = try TemporaryDirectory(prefix: "catalog")
        snapshotDirectory = root.file("snapshots")
        try FileManager.default.createDirectory(atPath: snapshotDirectory, withIntermediateDirectories: true)
        let destination = "file://\(root.file("catalog"))"
        catalog = try CatalogStore.open(fileDestination: destination, server: "pg1")
        let settings = ServerConfig(
            agentKey: try CurvePublicKey(z85: "HelloWorldHelloWorldHelloWorldHelloWorld"), destination: destination, provider: .local,
            local: LocalSettings(snapshotDirectory: snapshotDirectory, disks: nil), retentionPolicy: policy)
        operations = CatalogOperations(server: "pg1", settings: settings, catalog: catalog)
    }

    /// Collects a line.
    var say: @Sendable (String) -> Void { { [self] line in self.said.withLock { $0.append(line) } } }

    /// Writes a backup (with a snapshot image unless `snapshot` is false) ending `daysAgo` days ago.
    func addBackup(
        _ id: String, _ status: BackupStatus = .done, timeline: Int = 1, begin: String, end: String? = nil, daysAgo: Double = 0,
        keep: KeepTarget? = nil, name: String? = nil, snapshot: Bool = true
    ) throws {
        let backupID = BackupID(rawValue: id)!
        var info = BackupInfo(status: status)
        info.timeline = timeline
        info.beginWAL = begin
        info.endWAL = end ?? begin
        info.backupName = name
        info.serverName = "pg1"
        info.endTime = PythonDateTime(Date().addingTimeInterval(-daysAgo * 86_400), utcOffset: 0)
        if snapshot {
            let image = snapshotImage(id)
            try Data("image".utf8).write(to: URL(fileURLWithPath: image))
            let mount = SnapshotMount(mountPoint: "/srv/pg", mountOptions: "rw,noatime")
            info.snapshotsInfo = .local(
                LocalSnapshotsInfo(
                    host: "db1",
                    snapshots: [
                        LocalSnapshot(
                            mount: mount, deviceName: "/dev/loop9", imagePath: "/srv/disk.img", snapshotImagePath: image,
                            snapshotName: "pgdata-\(id.lowercased())")
                    ]))
        }
        try catalog.write(info, id: backupID)
        try catalog.writeLabel("START WAL LOCATION: 0/2000028 (file \(begin))\n", id: backupID)
        if let keep { try catalog.writeKeep(keep, id: backupID) }
    }

    /// The snapshot image a backup's fixture has.
    func snapshotImage(_ id: String) -> String { snapshotDirectory + "/pgdata-\(id.lowercased()).img" }

    /// Writes WAL objects by name (history files directly under `wals/`).
    func addWAL(_ names: [String]) throws {
        for name in names {
            let file = WALFile(name: name)!
            try catalog.store.put(catalog.layout.walKey(file), body: .bytes(Array(name.utf8)))
        }
    }

    /// Segment names `TTTTTTTT00000000000000NN` for the given timeline and segment numbers.
    static func segments(timeline: Int, _ numbers: ClosedRange<Int>) -> [String] {
        numbers.map { String(format: "%08X%08X%08X", timeline, 0, $0) }
    }

    /// Every key of the catalog, relative to `pg1/`.
    func keys() throws -> Set<String> {
        Set(try catalog.store.list(prefix: "pg1/").keys.map { String($0.dropFirst(4)) })
    }

    /// The backup ids whose snapshot image exists.
    func imagesLeft() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: snapshotDirectory).map { String($0.dropFirst(7).prefix(15)).uppercased() })
    }

    /// The keys a backup's fixture writes.
    static func backupKeys(_ id: String, keep: Bool = false) -> Set<String> {
        var keys: Set<String> = ["base/\(id)/backup.info", "base/\(id)/backup_label"]
        if keep { keys.insert("base/\(id)/annotations/keep") }
        return keys
    }

    /// WAL keys by name.
    static func walKeys(_ names: [String]) -> Set<String> {
        Set(
            names.map { name in
                let file = WALFile(name: name)!
                return file.hashDirectory.isEmpty ? "wals/\(name)" : "wals/\(file.hashDirectory)/\(name)"
            })
    }
}
