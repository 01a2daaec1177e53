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
    /// Local copies of `backup.info` files and records, for reads that have a listing in hand.
    var cache: ObjectCache? = nil

    /// Opens the server's `destination` with the credentials its settings name; with `cacheRoot`,
    /// a remote catalog's listed `backup.info` files and records are kept there (`ObjectCache`).
    static func open(server: String, config: ServerConfig, cacheRoot: String? = nil) throws(SnapfleetError) -> CatalogStore {
        guard let destination = config.destination else {
            throw SnapfleetError(
                .invalidConfiguration, "server '\(server)' has no destination",
                hint: "set 'destination' (file:///dir, s3://bucket/path, gs://bucket/path or an azure blob url)")
        }
        let location = try ObjectStoreLocation(parsing: destination)
        let layout: CatalogLayout
        do { layout = try CatalogLayout(path: location.scheme == .file ? "" : location.path, server: server) } catch {
            throw SnapfleetError(.invalidConfiguration, "cannot lay out a catalog for '\(server)': \(error)")
        }
        if location.scheme == .file { return CatalogStore(store: try FileObjectStore(root: location.path), layout: layout) }
        let (store, endpoint) = try remoteStore(location, config: config)
        let identity = "\(endpoint) \(destination) \(server)"
        return CatalogStore(store: store, layout: layout, cache: cacheRoot.map { ObjectCache(root: $0, identity: identity) })
    }

    /// A `file://` catalog (tests and tools).
    static func open(fileDestination destination: String, server: String) throws(SnapfleetError) -> CatalogStore {
        let location = try ObjectStoreLocation(parsing: destination)
        guard location.scheme == .file else { throw SnapfleetError(.invalidConfiguration, "\(destination) is not a file:// url") }
        let layout: CatalogLayout
        do { layout = try CatalogLayout(path: "", server: server) } catch {
            throw SnapfleetError(.invalidConfiguration, "cannot lay out a catalog for '\(server)': \(error)")
        }
        return CatalogStore(store: try FileObjectStore(root: location.path), layout: layout)
    }

    /// The storage account's shared key (`storage_key_file`, else `AZURE_STORAGE_KEY`), else the
    /// identity's bearer tokens (and user-delegation SAS for the agents).
    private static func azureBlobCredential(_ azure: AzureSettings, account: String) throws(SnapfleetError) -> AzureBlobCredential {
        var key = ProcessInfo.processInfo.environment["AZURE_STORAGE_KEY"]
        if let file = azure.storageKeyFile {
            do {
                key = String(decoding: try PosixFiles.readAll(file), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
            } catch { throw SnapfleetError(.invalidConfiguration, "cannot read the storage key file \(file): \(error.message)") }
        }
        if let key, !key.isEmpty { return .sharedKey(try AzureSharedKey(account: account, base64Key: Redacted(key))) }
        return .tokens(try AzureCredentials.tokens(azure.credentials, resource: azureStorageResource))
    }

    /// The store of a cloud destination and the endpoint it talks to (part of the cache's identity).
    private static func remoteStore(_ location: ObjectStoreLocation, config: ServerConfig) throws(SnapfleetError) -> (any ObjectStore, String) {
        let bucket = location.bucket ?? ""
        switch location.scheme {
        case .s3:
            guard let aws = config.aws else {
                throw SnapfleetError(.invalidConfiguration, "an s3:// destination needs 'aws' settings (at least 'region')")
            }
            let credentials = try AWSCredentialChain(profile: aws.profile).credentials()
            let store = try S3ObjectStore(bucket: bucket, region: aws.region, endpoint: aws.endpointURL, credentials: credentials)
            return (store, aws.endpointURL ?? "aws \(aws.region)")
        case .gs:
            guard let gcp = config.gcp else {
                throw SnapfleetError(.invalidConfiguration, "a gs:// destination needs 'gcp' settings (at least 'project' and 'zone')")
            }
            let tokens = try GoogleCredentials.tokens(keyFile: gcp.credentialsFile, metadataEndpoint: gcp.metadataEndpoint)
            let signer = (tokens as? GoogleServiceAccountTokens).map {
                GCSURLSigner(
                    clientEmail: $0.key.clientEmail, key: $0.key.privateKey, endpoint: gcp.storageEndpoint ?? "https://storage.googleapis.com")
            }
            let store = try GCSObjectStore(bucket: bucket, endpoint: gcp.storageEndpoint, tokens: tokens, signer: signer)
            return (store, store.endpoint)
        case .azure:
            guard let azure = config.azure, let account = location.account else {
                throw SnapfleetError(
                    .invalidConfiguration, "an azure blob destination needs 'azure' settings (at least 'subscription_id' and 'resource_group')")
            }
            let store = try AzureBlobObjectStore(
                account: account, container: bucket, endpoint: azure.blobEndpoint, credential: try azureBlobCredential(azure, account: account))
            return (store, store.endpoint)
        case .file:
            throw SnapfleetError(.internalError, "a file:// destination is not remote")
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

    /// Writes snapfleet's own record of a backup, `ROOT/snapfleet/<id>.json`.
    ///
    /// Kept outside `base/<id>/` on purpose: `barman-cloud-backup-delete` removes exactly what it
    /// knows there, and anything else would stay behind as junk; a record whose `backup.info` is
    /// gone is removed by snapfleet's next deletion run (`RecordCleanup`).
    func writeReport(_ json: [UInt8], id: BackupID) throws(SnapfleetError) {
        try store.put(reportKey(id), body: .bytes(json), ifAbsent: false)
    }

    /// A backup's record, nil if it has none (barman-cloud's own backups). Records written
    /// beside `backup.info` by snapfleet 0.x are read too.
    func readReport(_ id: BackupID, listed: ObjectInfo? = nil) throws(SnapfleetError) -> BackupReport? {
        for key in [reportKey(id), legacyReportKey(id)] {
            let bytes: [UInt8]
            do { bytes = try read(key, listed: listed) } catch  where error.code == .notFound { continue }
            do { return try JSONDecoder().decode(BackupReport.self, from: Data(bytes)) } catch {
                throw SnapfleetError(.invalidBody, "\(key) is not a snapfleet record: \(error)")
            }
        }
        return nil
    }

    /// The object's bytes, from the cache when the listing in hand (`listed`, if it is of this key) shows it unchanged.
    private func read(_ key: String, listed: ObjectInfo?) throws(SnapfleetError) -> [UInt8] {
        guard let cache, let listed, listed.key == key else { return try store.get(key) }
        return try cache.bytes(of: listed) { () throws(SnapfleetError) in try store.get(key) }
    }

    /// Removes a backup's record (wherever it is).
    func deleteReport(_ id: BackupID) throws(SnapfleetError) {
        try store.delete(reportKey(id))
        try store.delete(legacyReportKey(id))
    }

    /// `ROOT/snapfleet/`, where the records are.
    var recordsPrefix: String { layout.root + "/snapfleet/" }

    /// `ROOT/snapfleet/<id>.json`.
    func reportKey(_ id: BackupID) -> String { recordsPrefix + id.rawValue + ".json" }

    private func legacyReportKey(_ id: BackupID) -> String { layout.backupPrefix(id) + "snapfleet.json" }

    /// The ids of every record under `ROOT/snapfleet/`, listed page by page, in order.
    func recordIDs() throws(SnapfleetError) -> [BackupID] { try recordListing().map(\.id) }

    /// Every record under `ROOT/snapfleet/` with what the listing says of it, in order.
    func recordListing() throws(SnapfleetError) -> [(id: BackupID, object: ObjectInfo)] {
        var records: [(id: BackupID, object: ObjectInfo)] = []
        try store.forEachPage(prefix: recordsPrefix, delimiter: "/") { page throws(SnapfleetError) -> Bool in
            for object in page.objects {
                let name = object.key.dropFirst(recordsPrefix.count)
                if name.hasSuffix(".json"), let id = BackupID(rawValue: String(name.dropLast(5))) { records.append((id, object)) }
            }
            return true
        }
        return records
    }

    /// The backup's keep annotation, nil without one.
    func readKeep(_ id: BackupID) throws(SnapfleetError) -> KeepTarget? {
        do { return KeepTarget(annotationBody: String(decoding: try store.get(layout.keepAnnotationKey(id)), as: UTF8.self)) } catch
            where error.code == .notFound
        { return nil }
    }

    /// Writes the keep annotation as barman-cloud-backup-keep does (the bare word, no newline).
    func writeKeep(_ target: KeepTarget, id: BackupID) throws(SnapfleetError) {
        try store.put(layout.keepAnnotationKey(id), body: .bytes(Array(target.annotationBody.utf8)), ifAbsent: false)
    }

    /// Removes the keep annotation (none is fine).
    func deleteKeep(_ id: BackupID) throws(SnapfleetError) {
        try store.delete(layout.keepAnnotationKey(id))
    }

    /// Every backup id under `base/`, listed page by page (directories whose names are not backup ids are skipped).
    func backupIDs() throws(SnapfleetError) -> [BackupID] {
        var ids: [BackupID] = []
        try store.forEachPage(prefix: layout.basePrefix, delimiter: "/") { page throws(SnapfleetError) -> Bool in
            ids += page.commonPrefixes.compactMap { BackupID(rawValue: String($0.dropFirst(layout.basePrefix.count).dropLast())) }
            return true
        }
        return ids
    }

    /// Reads and parses a backup's `backup.info`.
    func readInfo(_ id: BackupID, listed: ObjectInfo? = nil) throws(SnapfleetError) -> BackupInfo {
        let bytes = try read(layout.backupInfoKey(id), listed: listed)
        do { return try BackupInfo(decoding: bytes) } catch {
            throw SnapfleetError(.invalidBody, "\(layout.backupInfoKey(id)) cannot be read: \(error)")
        }
    }

    /// Writes `backup_label` once.
    func writeLabel(_ text: String, id: BackupID) throws(SnapfleetError) {
        try store.put(layout.backupLabelKey(id), body: .bytes(Array(text.utf8)), ifAbsent: false)
    }
}
