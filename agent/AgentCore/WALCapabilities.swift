import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// Asks the controller from a worker thread: blocks until the reply (or the timeout).
struct ControllerAsker: Sendable {
    /// Sends `message` with `attachments`; the reply, or the error reply as a failure.
    let ask: @Sendable (_ message: Message, _ attachments: [[UInt8]], _ timeout: Duration) -> Result<Inbound, SnapfleetError>
}

extension ControllerAsker {
    /// `wal_urls_request` for `names` (at most 64) and its `wal_urls` answer.
    func walURLs(_ purpose: WALPurpose, _ names: [String]) throws(SnapfleetError) -> WALURLs {
        let request = WALURLsRequest(purpose: purpose, names: Array(names.prefix(ProtocolLimits.maxWALNames)))
        let reply = try ask(.walURLsRequest(request), [], .seconds(10)).get()
        guard case .walURLs(let answer) = reply.envelope.message else {
            throw SnapfleetError(.unexpectedMessage, "the controller answered wal_urls_request with \(reply.envelope.message.type.rawValue)")
        }
        return answer
    }
}

/// The URLs the controller signed for this agent, by WAL file: held until shortly before they
/// expire, so archiving goes on through controller restarts and outages shorter than that.
final class WALCapabilities: Sendable {
    /// What archiving one file needs.
    struct Archive: Sendable {
        /// `direct`, or `controller` (bytes go in `wal_put`).
        var transport: WALTransport
        /// How to compress it.
        var compression: String
        /// The PUT and HEAD URLs (direct transport only).
        var put: WALURL?
        var head: WALURL?
    }

    struct Held: Sendable {
        var archive: Archive
        var expires: Date
    }

    private let controller: ControllerAsker
    private let held = Mutex<[String: Held]>([:])
    /// One request to the controller at a time: workers missing URLs together wait for one batch.
    private let asking = NSLock()

    /// A cache filled from `controller`.
    init(controller: ControllerAsker) { self.controller = controller }

    /// The URLs to archive `name`, asking the controller for it and for `ahead` (the files
    /// expected next) when they are missing or expire within a minute.
    func archive(_ name: String, ahead: [String], now: Date = Date()) throws(SnapfleetError) -> Archive {
        if let usable = usable(name, now: now) { return usable }
        asking.lock()
        defer { asking.unlock() }
        if let usable = usable(name, now: now) { return usable }
        let wanted = [name] + ahead.filter { usable($0, now: now) == nil }
        try request(Array(wanted.prefix(ProtocolLimits.maxWALNames)), now: now)
        guard let fresh = usable(name, now: now) else {
            throw SnapfleetError(.unexpectedMessage, "the controller sent no URLs for \(name)")
        }
        return fresh
    }

    /// Keeps URLs for `following` (the files expected next, nearest first) in hand: when fewer
    /// than half are held, asks for the missing ones, 64 at a time. Errors are left to the next
    /// upload that needs a URL (the controller may be away for a while; that is what the URLs are for).
    func refill(_ following: [String], now: Date = Date()) {
        guard heldCount(following, now: now) < following.count / 2 else { return }
        asking.lock()
        defer { asking.unlock() }
        let missing = following.filter { usable($0, now: now) == nil }
        for start in stride(from: 0, to: missing.count, by: ProtocolLimits.maxWALNames) {
            let batch = Array(missing[start..<min(missing.count, start + ProtocolLimits.maxWALNames)])
            guard (try? request(batch, now: now)) != nil else { return }
        }
    }

    /// How many of `names` have URLs valid for another minute (how far ahead archiving can run alone).
    func heldCount(_ names: [String], now: Date = Date()) -> Int { names.filter { usable($0, now: now) != nil }.count }

    /// How many files have URLs valid for another minute, whatever their name (for `wal_archiving`).
    func inHand(now: Date = Date()) -> Int {
        held.withLock { held in held.values.filter { $0.expires > now.addingTimeInterval(60) }.count }
    }

    /// Forgets a file's URLs (after a 403: expired or refused).
    func discard(_ name: String) { _ = held.withLock { $0.removeValue(forKey: name) } }

    /// Drops the file's URLs once it is archived: they are single-use in practice.
    func archived(_ name: String) { discard(name) }

    private func usable(_ name: String, now: Date) -> Archive? {
        held.withLock { held in
            guard let entry = held[name], entry.expires > now.addingTimeInterval(60) else { return nil }
            return entry.archive
        }
    }

    private func request(_ names: [String], now: Date) throws(SnapfleetError) {
        let answer = try controller.walURLs(.archive, names)
        let entries = Self.entries(answer, names: names, now: now)
        held.withLock { held in
            held.merge(entries) { _, new in new }
            // A bounded cache: URLs for files PostgreSQL never produced (a timeline switch) age out.
            for (name, entry) in held where entry.expires < now { held.removeValue(forKey: name) }
        }
    }

    /// The answer as cache entries: one per name (a controller-side destination needs no URL).
    static func entries(_ answer: WALURLs, names: [String], now: Date) -> [String: Held] {
        var entries: [String: Held] = [:]
        let farFuture = now.addingTimeInterval(365 * 86_400)
        guard answer.transport == .direct else {
            for name in names { entries[name] = Held(archive: Archive(transport: .controller, compression: answer.compression), expires: farFuture) }
            return entries
        }
        for name in names {
            let put = answer.urls.first { $0.name == name && $0.method == "PUT" }
            let head = answer.urls.first { $0.name == name && $0.method == "HEAD" }
            guard let put, let head, let expires = Timestamp.parse(put.expiresAt) else { continue }
            entries[name] = Held(archive: Archive(transport: .direct, compression: answer.compression, put: put, head: head), expires: expires)
        }
        return entries
    }
}
