import Catalog
import CloudCredentials
import Foundation
import ObjectStore
import SnapfleetCore

/// A server's catalog: the object store behind its `destination` and barman-cloud's layout in it.
struct CatalogStore: Sendable {
    /// The object store.
    let store: any ObjectStore
    /// Where the server's objects go.
    let layout: CatalogLayout

    /// Opens `destination` (`file:///dir` or `s3://bucket/path`) for `server`.
    static func open(destination: String?, server: String, aws: AWSSettings?) throws(SnapfleetError) -> CatalogStore {
        guard let destination else {
            throw SnapfleetError(
                .invalidConfiguration, "server '\(server)' has no destination", hint: "set 'destination' (file:///dir or s3://bucket/path)")
        }
        let location = try ObjectStoreLocation(parsing: destination)
        let layout: CatalogLayout
        do { layout = try CatalogLayout(path: location.scheme == .file ? "" : location.path, server: server) } catch {
            throw SnapfleetError(.invalidConfiguration, "cannot lay out a catalog for '\(server)': \(error)")
        }
        switch location.scheme {
        case .file:
            return CatalogStore(store: try FileObjectStore(root: location.path), layout: layout)
        case .s3:
            guard let aws, let bucket = location.bucket else {
                throw SnapfleetError(.invalidConfiguration, "an s3:// destination needs 'aws' settings (at least 'region')")
            }
            let credentials = try AWSCredentialChain(profile: aws.profile).credentials()
            let store = try S3ObjectStore(bucket: bucket, region: aws.region, endpoint: aws.endpointURL, credentials: credentials)
            return CatalogStore(store: store, layout: layout)
        }
    }

    /// A backup id for a backup starting at `now` that the catalog does not have yet: barman-cloud's
    /// rule, the wall-clock time of the machine taking it (the controller's `TZ`), so that ids from
    /// both tools in one catalog sort by time when both run in the same time zone; within the same
    /// second, the next free second. Probed with HEAD requests rather than a listing, which would
    /// grow with the catalog.
    func freshBackupID(now: Date, timeZone: TimeZone = .current) throws(SnapfleetError) -> BackupID {
        var candidate = BackupID(date: now, timeZone: timeZone)
        var seconds = 0.0
        while try exists(candidate) {
            seconds += 1
            candidate = BackupID(date: now.addingTimeInterval(seconds), timeZone: timeZone)
        }
        return candidate
    }

    private func exists(_ id: BackupID) throws(SnapfleetError) -> Bool {
        if try store.head(layout.backupInfoKey(id)) != nil { return true }
        return try store.head(layout.backupLabelKey(id)) != nil
    }

    /// Writes `backup.info` (overwriting: it moves from STARTED to DONE or FAILED).
    func write(_ info: BackupInfo, id: BackupID) throws(SnapfleetError) {
        let text: String
        do { text = try info.encoded() } catch { throw SnapfleetError(.internalError, "cannot encode backup.info: \(error)") }
        try store.put(layout.backupInfoKey(id), body: .bytes(Array(text.utf8)), ifAbsent: false)
    }

    /// Writes snapfleet's own report, `snapfleet.json`, beside `backup.info`.
    func writeReport(_ json: [UInt8], id: BackupID) throws(SnapfleetError) {
        try store.put(reportKey(id), body: .bytes(json), ifAbsent: false)
    }

    /// A backup's `snapfleet.json`, nil if it has none (barman-cloud's own backups).
    func readReport(_ id: BackupID) throws(SnapfleetError) -> BackupReport? {
        guard try store.head(reportKey(id)) != nil else { return nil }
        let bytes = try store.get(reportKey(id))
        do { return try JSONDecoder().decode(BackupReport.self, from: Data(bytes)) } catch {
            throw SnapfleetError(.invalidBody, "\(reportKey(id)) is not a snapfleet report: \(error)")
        }
    }

    private func reportKey(_ id: BackupID) -> String { layout.backupPrefix(id) + "snapfleet.json" }

    /// Every backup id under `base/` (directories whose names are not backup ids are skipped).
    func backupIDs() throws(SnapfleetError) -> [BackupID] {
        let listing = try store.list(prefix: layout.basePrefix, delimiter: "/")
        return listing.commonPrefixes.compactMap { BackupID(rawValue: String($0.dropFirst(layout.basePrefix.count).dropLast())) }
    }

    /// Reads and parses a backup's `backup.info`.
    func readInfo(_ id: BackupID) throws(SnapfleetError) -> BackupInfo {
        let bytes = try store.get(layout.backupInfoKey(id))
        do { return try BackupInfo(decoding: bytes) } catch {
            throw SnapfleetError(.invalidBody, "\(layout.backupInfoKey(id)) cannot be read: \(error)")
        }
    }

    /// Writes `backup_label` once.
    func writeLabel(_ text: String, id: BackupID) throws(SnapfleetError) {
        try store.put(layout.backupLabelKey(id), body: .bytes(Array(text.utf8)), ifAbsent: false)
    }
}
