import Catalog
import CloudCredentials
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

    /// The ids of the backups already in the catalog (any status).
    func backupIDs() throws(SnapfleetError) -> [BackupID] {
        try store.list(prefix: layout.basePrefix, delimiter: "/").commonPrefixes.compactMap { prefix in
            BackupID(rawValue: String(prefix.dropFirst(layout.basePrefix.count).dropLast()))
        }
    }

    /// Writes `backup.info` (overwriting: it moves from STARTED to DONE or FAILED).
    func write(_ info: BackupInfo, id: BackupID) throws(SnapfleetError) {
        let text: String
        do { text = try info.encoded() } catch { throw SnapfleetError(.internalError, "cannot encode backup.info: \(error)") }
        try store.put(layout.backupInfoKey(id), body: .bytes(Array(text.utf8)), ifAbsent: false)
    }

    /// Writes `backup_label` once.
    func writeLabel(_ text: String, id: BackupID) throws(SnapfleetError) {
        try store.put(layout.backupLabelKey(id), body: .bytes(Array(text.utf8)), ifAbsent: false)
    }
}
