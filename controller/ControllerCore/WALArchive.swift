import Catalog
import CompressionCodecs
import Digests
import Foundation
import Logging
import ObjectStore
import SnapfleetCore
import SnapfleetProtocol

/// One server's WAL archive as the controller serves it to the agent: one-object presigned URLs
/// for an S3 destination (the bytes never pass through the controller), or the bytes themselves
/// for a `file://` destination, which only the controller's host can reach.
struct WALArchive: Sendable {
    let server: String
    let catalog: CatalogStore
    /// How the agent compresses what it archives.
    let compression: Compression
    /// How long an issued URL works, in seconds.
    let urlLifetime: Int
    let logger: Logger

    /// The keys a WAL file may be stored under, the configured compression's first (barman-cloud
    /// may have archived it with any compression snapfleet can read).
    func candidateKeys(_ file: WALFile) -> [(key: String, compression: Compression)] {
        let order = [compression] + Compression.allCases.filter { $0 != compression }
        return order.map { (catalog.layout.walKey(file, compression: $0.catalogCompression), $0) }
    }

    /// The key archiving writes `file` under.
    func archiveKey(_ file: WALFile) -> String { catalog.layout.walKey(file, compression: compression.catalogCompression) }

    // MARK: - URLs (S3, GCS)

    /// PUT (`If-None-Match: *` signed) and HEAD URLs to archive, or GET URLs of every candidate key
    /// to restore; for a `file://` destination, the answer that the bytes go through the controller.
    func urls(_ request: WALURLsRequest, now: Date = Date()) throws(SnapfleetError) -> WALURLs {
        guard let store = catalog.store as? any PresigningObjectStore else {
            return WALURLs(transport: .controller, compression: compression.rawValue, urls: [])
        }
        var urls: [WALURL] = []
        for name in request.names {
            let file = try Self.walFile(name)
            switch request.purpose {
            case .archive:
                let key = archiveKey(file)
                urls.append(try sign(store, name: name, key: key, method: "PUT", headers: store.createOnlyHeaders, now: now))
                urls.append(try sign(store, name: name, key: key, method: "HEAD", now: now))
            case .restore:
                for candidate in candidateKeys(file) { urls.append(try sign(store, name: name, key: candidate.key, method: "GET", now: now)) }
            }
        }
        logIssued(urls, purpose: request.purpose)
        return WALURLs(transport: .direct, compression: compression.rawValue, urls: urls)
    }

    /// One info line per request (a look-ahead refill signs thousands of URLs), each URL at debug.
    private func logIssued(_ urls: [WALURL], purpose: WALPurpose) {
        guard let first = urls.first, let last = urls.last else { return }
        logger.info(
            "WAL URLs issued",
            metadata: [
                "server": "\(server)", "purpose": "\(purpose.rawValue)", "count": "\(urls.count)", "key.first": "\(first.key)",
                "key.last": "\(last.key)", "expires_at": "\(first.expiresAt)",
            ])
    }

    /// Signs one URL and logs it at debug (server, key, method, expiry; never the signature).
    private func sign(
        _ store: any PresigningObjectStore, name: String, key: String, method: String, headers: [(String, String)] = [], now: Date
    ) throws(SnapfleetError) -> WALURL {
        let url = try store.presignedURL(key: key, method: method, headers: headers, expires: urlLifetime, date: now)
        let expiresAt = Timestamp.rfc3339(now.addingTimeInterval(TimeInterval(urlLifetime)))
        logger.debug("WAL URL issued", metadata: ["server": "\(server)", "key": "\(key)", "method": "\(method)", "expires_at": "\(expiresAt)"])
        return WALURL(name: name, key: key, method: method, url: url, headers: Dictionary(uniqueKeysWithValues: headers), expiresAt: expiresAt)
    }

    // MARK: - Bytes (file://)

    /// Stores one file the agent sent; the same content already there is success, other content
    /// is refused and never overwritten.
    func put(_ put: WALPut, bytes: [UInt8]) throws(SnapfleetError) -> WALStored {
        let file = try Self.walFile(put.name)
        guard let sent = Compression(rawValue: put.compression), sent == compression else {
            throw SnapfleetError(.invalidBody, "\(put.name) was compressed with \(put.compression), the archive wants \(compression.rawValue)")
        }
        guard try Self.md5(bytes) == put.md5 else { throw SnapfleetError(.invalidBody, "\(put.name): the bytes do not match their md5") }
        let key = archiveKey(file)
        do {
            try catalog.store.put(key, body: .bytes(bytes), ifAbsent: true)
            return WALStored(name: put.name, key: key, alreadyArchived: false)
        } catch  where error.code == .alreadyExists {
            guard try Self.md5(try catalog.store.get(key)) == put.md5 else { throw conflict(put.name, key: key) }
            return WALStored(name: put.name, key: key, alreadyArchived: true)
        }
    }

    /// The stored bytes of a file under the first candidate key that exists, or not found.
    func get(_ name: String) throws(SnapfleetError) -> (WALData, [UInt8]?) {
        let file = try Self.walFile(name)
        for candidate in candidateKeys(file) where try catalog.store.head(candidate.key) != nil {
            return (WALData(name: name, found: true, compression: candidate.compression.rawValue), try catalog.store.get(candidate.key))
        }
        return (WALData(name: name, found: false, compression: compression.rawValue), nil)
    }

    /// The refusal for a file whose archived copy differs: both programs log it.
    func conflict(_ name: String, key: String) -> SnapfleetError {
        let error = SnapfleetError(
            .alreadyExists, "the archive already holds a different \(name) at \(key); it was not overwritten",
            hint: "two servers may be archiving to the same place, or this server was restored without a new timeline")
        logger.error("WAL file conflicts with the archive", metadata: ["server": "\(server)", "wal": "\(name)", "key": "\(key)"])
        return error
    }

    static func md5(_ bytes: [UInt8]) throws(SnapfleetError) -> String {
        do { return try MD5.hash(bytes).hex } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
    }

    static func walFile(_ name: String) throws(SnapfleetError) -> WALFile {
        guard let file = WALFile(name: name) else { throw SnapfleetError(.invalidBody, "\(name) is not a WAL file name") }
        return file
    }
}

extension Compression {
    /// The catalog's name for this compression (nil: none).
    var catalogCompression: WALCompression? {
        switch self {
        case .none: nil
        case .gzip: .gzip
        case .zstd: .zstd
        }
    }
}
