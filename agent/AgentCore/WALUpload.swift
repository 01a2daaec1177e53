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
    /// Attempts before giving up (PostgreSQL calls `wal-push` again later).
    var attempts = 6

    /// Uploads the file; `ahead` names the files expected next (their URLs are fetched together).
    func run(ahead: [String]) throws(SnapfleetError) -> WALStored {
        let raw = try read()
        var prepared: (compression: String, body: [UInt8], md5: [UInt8])?
        var lastProblem = ""
        for attempt in 1...attempts {
            let capability = try capabilities.archive(name, ahead: ahead)
            if prepared?.compression != capability.compression { prepared = try Self.prepare(raw, compression: capability.compression) }
            guard let body = prepared else { continue }
            guard capability.transport == .direct, let put = capability.put, let head = capability.head else {
                do { return try viaController(body.body, compression: body.compression, md5: body.md5) } catch  where error.retryable {
                    // The controller is busy or away for a moment: the same backoff as the object store's.
                    lastProblem = error.message
                    Thread.sleep(forTimeInterval: Self.backoff(attempt))
                    continue
                }
            }
            switch transfer.put(body.body, md5: body.md5, with: put) {
            case .stored:
                capabilities.archived(name)
                return WALStored(name: name, key: put.key, alreadyArchived: false)
            case .exists:
                return try compareExisting(head, md5: body.md5)
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

    /// 412: the key is taken. Its ETag is the MD5 of a single-part upload: equal means this very file.
    private func compareExisting(_ head: WALURL, md5: [UInt8]) throws(SnapfleetError) -> WALStored {
        let stored = try transfer.etag(with: head)
        guard stored == Hex.lowercase(md5) else {
            throw SnapfleetError(
                .alreadyExists, "the archive already holds a different \(name) at \(head.key) (ETag \(stored ?? "none")); it was not overwritten",
                hint: "two servers may be archiving to the same place, or this server was restored without a new timeline")
        }
        capabilities.archived(name)
        return WALStored(name: name, key: head.key, alreadyArchived: true)
    }

    /// A `file://` archive: the bytes go to the controller, which writes them.
    private func viaController(_ body: [UInt8], compression: String, md5: [UInt8]) throws(SnapfleetError) -> WALStored {
        let put = WALPut(name: name, compression: compression, md5: Hex.lowercase(md5))
        let reply = try controller.ask(.walPut(put), [body], .seconds(120)).get()
        guard case .walStored(let stored) = reply.envelope.message else {
            throw SnapfleetError(.unexpectedMessage, "the controller answered wal_put with \(reply.envelope.message.type.rawValue)")
        }
        return stored
    }

    private func read() throws(SnapfleetError) -> [UInt8] {
        let path = layout.walDirectory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapfleetError(.notFound, "cannot read \(path)")
        }
        return [UInt8](data)
    }

    /// The bytes to store and their MD5.
    static func prepare(_ raw: [UInt8], compression: String) throws(SnapfleetError) -> (compression: String, body: [UInt8], md5: [UInt8]) {
        guard let codec = Compression(rawValue: compression) else { throw SnapfleetError(.invalidBody, "unknown compression \(compression)") }
        let body = try codec.compress(raw)
        do { return (compression, body, try MD5.hash(body).bytes) } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
    }

    /// 0.2 s, 0.4 s, … up to 5 s between attempts.
    static func backoff(_ attempt: Int) -> TimeInterval { min(5, 0.2 * pow(2, Double(attempt - 1))) }
}
