import CompressionCodecs
import Digests
import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// Archiving one WAL file: read, compress, upload with a URL that cannot overwrite, and on a
/// name already taken compare checksums: the same bytes are success, other bytes a refusal.
struct WALUpload {
    let name: String
    let layout: WALArchiver.Layout
    let capabilities: WALCapabilities
    let controller: ControllerAsker
    let transfer: WALTransfer
    /// The worker's compressor, whose buffers serve segment after segment.
    let compressor: Compressor
    /// Attempts before giving up (PostgreSQL calls `wal-push` again later).
    var attempts = 6

    /// Uploads the file; `ahead` names the files expected next (their URLs are fetched together).
    func run(ahead: [String]) throws(SnapfleetError) -> WALStored {
        var prepared: Payload?
        var lastProblem = ""
        for attempt in 1...attempts {
            let capability = try capabilities.archive(name, ahead: ahead)
            if prepared?.compression != capability.compression { prepared = try prepare(compression: capability.compression) }
            guard let payload = prepared else { continue }
            guard capability.transport == .direct, let put = capability.put, let head = capability.head else {
                do { return try viaController(payload) } catch  where error.retryable {
                    // The controller is busy or away for a moment: the same backoff as the object store's.
                    lastProblem = error.message
                    Thread.sleep(forTimeInterval: Self.backoff(attempt))
                    continue
                }
            }
            switch payload.put(with: put, transfer: transfer) {
            case .stored:
                capabilities.archived(name)
                return WALStored(name: name, key: put.key, alreadyArchived: false)
            case .exists:
                return try compareExisting(head, md5: payload.md5)
            case .refused(let why):
                // Most likely expired: a fresh URL on the next attempt.
                capabilities.discard(name)
                lastProblem = why
            case .retryable(let why):
                lastProblem = why
            }
            Thread.sleep(forTimeInterval: Self.backoff(attempt))
        }
        throw SnapfleetError(.httpError, "\(name) not archived after \(attempts) attempts: \(lastProblem)", retryable: true)
    }

    /// What is stored for one WAL file, and the MD5 the store checks it against.
    enum Payload {
        /// The file as it is, streamed from disk (no compression: never held in memory).
        case file(path: String, md5: [UInt8])
        /// Compressed bytes.
        case compressed(Compression, body: [UInt8], md5: [UInt8])

        /// The compression's name, as the controller's capability gives it.
        var compression: String {
            switch self {
            case .file: Compression.none.rawValue
            case .compressed(let compression, _, _): compression.rawValue
            }
        }

        /// The MD5 of the stored bytes.
        var md5: [UInt8] {
            switch self {
            case .file(_, let md5), .compressed(_, _, let md5): md5
            }
        }

        /// The bytes themselves (read from disk for a file), for the controller of a `file://` archive.
        func body() throws(SnapfleetError) -> [UInt8] {
            switch self {
            case .file(let path, _): try PosixFiles.readAll(path)
            case .compressed(_, let body, _): body
            }
        }

        /// Uploads with a PUT URL.
        func put(with url: WALURL, transfer: WALTransfer) -> WALTransfer.PutOutcome {
            switch self {
            case .file(let path, let md5): transfer.put(file: path, md5: md5, with: url)
            case .compressed(_, let body, let md5): transfer.put(body, md5: md5, with: url)
            }
        }
    }

    /// The key is taken. The stored object's MD5 equal to this file's means this very file.
    private func compareExisting(_ head: WALURL, md5: [UInt8]) throws(SnapfleetError) -> WALStored {
        let stored = try transfer.storedMD5(with: head)
        guard stored == Hex.lowercase(md5) else {
            throw SnapfleetError(
                .alreadyExists, "the archive already holds a different \(name) at \(head.key) (MD5 \(stored ?? "none")); it was not overwritten",
                hint: "two servers may be archiving to the same place, or this server was restored without a new timeline")
        }
        capabilities.archived(name)
        return WALStored(name: name, key: head.key, alreadyArchived: true)
    }

    /// A `file://` archive: the bytes go to the controller, which writes them.
    private func viaController(_ payload: Payload) throws(SnapfleetError) -> WALStored {
        let put = WALPut(name: name, compression: payload.compression, md5: Hex.lowercase(payload.md5))
        let reply = try controller.ask(.walPut(put), [try payload.body()], .seconds(120)).get()
        guard case .walStored(let stored) = reply.envelope.message else {
            throw SnapfleetError(.unexpectedMessage, "the controller answered wal_put with \(reply.envelope.message.type.rawValue)")
        }
        return stored
    }

    private var path: String { layout.walDirectory + "/" + name }

    /// The payload for `compression`: the file itself (its MD5 read in pieces) when uncompressed.
    private func prepare(compression: String) throws(SnapfleetError) -> Payload {
        guard let codec = Compression(rawValue: compression) else { throw SnapfleetError(.invalidBody, "unknown compression \(compression)") }
        guard codec != .none else { return .file(path: path, md5: try MD5.hash(file: path).bytes) }
        let body = try compressor.compress(file: path, with: codec)
        do { return .compressed(codec, body: body, md5: try MD5.hash(body).bytes) } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
    }

    /// 0.2 s, 0.4 s, … up to 5 s between attempts.
    static func backoff(_ attempt: Int) -> TimeInterval { min(5, 0.2 * pow(2, Double(attempt - 1))) }
}
