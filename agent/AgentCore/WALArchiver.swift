import CompressionCodecs
import Digests
import Foundation
import Logging
import Messaging
import PostgresBackup
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// Archives PostgreSQL's WAL: `wal-push` waits here for its file to be durable, while worker
/// threads upload, in parallel and ahead of PostgreSQL's calls, every file `pg_wal/archive_status`
/// marks `.ready` — so most calls find their file already stored. A file counts as archived only
/// once the object store (or the controller, for a `file://` archive) has acknowledged it.
final class WALArchiver: Sendable {
    /// Where PostgreSQL's WAL is and how large a segment is (from PostgreSQL's facts).
    struct Layout: Sendable {
        /// The `pg_wal` directory.
        var walDirectory: String
        /// `wal_segment_size`.
        var segmentSize: Int
    }

    typealias Completion = @Sendable (Result<WALStored, SnapfleetError>) -> Void

    private struct State {
        var queued: [String] = []
        var inFlight: Set<String> = []
        var stored: [String: WALStored] = [:]
        var waiters: [String: [Completion]] = [:]
        /// When a look-ahead upload last failed: not retried before PostgreSQL asks or 5 s pass.
        var failedAt: [String: Date] = [:]
        /// When each segment of the last hour was archived: the WAL rate the look-ahead follows.
        var recent: [Date] = []
        /// When each file not yet archived was first seen ready: the archive lag.
        var waitingSince: [String: Date] = [:]
        var progress = Progress()
        var stopping = false
    }

    /// What `wal_archiving` reports, kept as uploads end.
    struct Progress: Sendable, Equatable {
        var archivedCount = 0
        var failedCount = 0
        var lastArchived: (name: String, at: Date)?
        var lastFailed: (name: String, at: Date, error: String)?

        static func == (lhs: Progress, rhs: Progress) -> Bool {
            lhs.archivedCount == rhs.archivedCount && lhs.failedCount == rhs.failedCount
                && lhs.lastArchived?.name == rhs.lastArchived?.name && lhs.lastFailed?.at == rhs.lastFailed?.at
        }
    }

    private let layout: @Sendable () -> Layout?
    private let capabilities: WALCapabilities
    private let controller: ControllerAsker
    private let logger: Logger
    private let concurrency: Int
    private let lookAheadSeconds: Int
    private let state = Mutex(State())
    private let work = DispatchSemaphore(value: 0)

    /// An archiver uploading `concurrency` files at once.
    /// URLs are kept in hand for `lookAheadSeconds` of WAL at the observed rate (at least 64 segments).
    init(
        layout: @escaping @Sendable () -> Layout?, capabilities: WALCapabilities, controller: ControllerAsker, logger: Logger,
        concurrency: Int, lookAheadSeconds: Int = 3600
    ) {
        self.lookAheadSeconds = lookAheadSeconds
        self.layout = layout
        self.capabilities = capabilities
        self.controller = controller
        self.logger = logger
        self.concurrency = concurrency
    }

    /// Starts the worker threads.
    func start() {
        for _ in 0..<concurrency { startThread { [self] in workLoop() } }
    }

    /// Stops the workers once their current upload ends; waiting pushes fail (PostgreSQL retries).
    func stop() {
        let waiters = state.withLock { state in
            state.stopping = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.flatMap { $0 }
        }
        for _ in 0..<concurrency { work.signal() }
        for waiter in waiters { waiter(.failure(SnapfleetError(.ioError, "the agent is stopping", retryable: true))) }
    }

    /// Archives the file at `path` (PostgreSQL's `%p`); `completion` runs once it is durable or has failed.
    func push(path: String, completion: @escaping Completion) {
        let name: String
        do { name = try checkedName(path) } catch { return completion(.failure(error)) }
        let already: WALStored? = state.withLock { state in
            if let stored = state.stored[name] { return stored }
            state.waiters[name, default: []].append(completion)
            state.failedAt[name] = nil
            if state.waitingSince[name] == nil { state.waitingSince[name] = Date() }
            if !state.inFlight.contains(name), !state.queued.contains(name) { state.queued.insert(name, at: 0) }
            return nil
        }
        if let already { return completion(.success(already)) }
        work.signal()
        scanReady()
    }

    /// Queues every `.ready` file not yet stored, oldest first (PostgreSQL archives in that order).
    func scanReady(now: Date = Date()) {
        guard let layout = layout(), let entries = try? FileManager.default.contentsOfDirectory(atPath: layout.walDirectory + "/archive_status")
        else { return }
        let ready = entries.filter { $0.hasSuffix(".ready") }.map { String($0.dropLast(6)) }.sorted()
        let added = state.withLock { state in
            var added = 0
            Self.noteWaiting(ready, in: &state, now: now)
            for name in ready where state.stored[name] == nil && !state.inFlight.contains(name) && !state.queued.contains(name) {
                if let failed = state.failedAt[name], now.timeIntervalSince(failed) < 5 { continue }
                state.queued.append(name)
                added += 1
            }
            return added
        }
        for _ in 0..<added { work.signal() }
    }

    /// Files ready and not stored are waiting since first seen; files no longer ready (archived
    /// by an earlier agent, or the cluster moved on) and not asked for by PostgreSQL stop waiting.
    private static func noteWaiting(_ ready: [String], in state: inout State, now: Date) {
        let readySet = Set(ready)
        state.waitingSince = state.waitingSince.filter { readySet.contains($0.key) || state.waiters[$0.key] != nil }
        for name in ready where state.stored[name] == nil && state.waitingSince[name] == nil { state.waitingSince[name] = now }
    }

    /// How archiving stands, for the controller's `status` and metrics.
    func report(now: Date = Date()) -> WALArchivingReport {
        let (progress, waiting, oldest) = state.withLock { ($0.progress, $0.waitingSince.count, $0.waitingSince.values.min()) }
        return WALArchivingReport(
            archivedCount: progress.archivedCount, failedCount: progress.failedCount, lastArchivedWAL: progress.lastArchived?.name,
            lastArchivedAt: progress.lastArchived.map { Timestamp.rfc3339($0.at) }, lastFailedWAL: progress.lastFailed?.name,
            lastFailedAt: progress.lastFailed.map { Timestamp.rfc3339($0.at) }, lastError: progress.lastFailed?.error, waiting: waiting,
            oldestWaitingSince: oldest.map { Timestamp.rfc3339($0) }, urlsInHand: capabilities.inHand(now: now))
    }

    // MARK: - Workers

    private func workLoop() {
        // Made at the first upload: an idle agent does not load libcurl's TLS stack at all.
        var transfer: WALTransfer?
        // Its buffers (tens of MiB with compression) are let go after a quiet minute.
        var compressor: Compressor?
        while true {
            guard work.wait(timeout: .now() + Self.idleRelease) == .success else {
                compressor = nil
                continue
            }
            let next: String?? = state.withLock { state in
                if state.stopping { return .some(nil) }
                guard !state.queued.isEmpty else { return nil }
                let name = state.queued.removeFirst()
                state.inFlight.insert(name)
                return .some(name)
            }
            guard let picked = next else { continue }
            guard let name = picked else { return }
            if transfer == nil { transfer = try? WALTransfer() }
            guard let transfer else {
                finish(name, .failure(SnapfleetError(.internalError, "cannot create an HTTP connection")))
                continue
            }
            let reused = compressor ?? Compressor()
            compressor = reused
            finish(name, uploadResult(name, transfer: transfer, compressor: reused))
        }
    }

    /// How long a worker keeps its compressor's buffers with nothing to archive.
    static let idleRelease: DispatchTimeInterval = .seconds(60)

    private func uploadResult(_ name: String, transfer: WALTransfer, compressor: Compressor) -> Result<WALStored, SnapfleetError> {
        do throws(SnapfleetError) {
            guard let layout = layout() else {
                throw SnapfleetError(.postgresError, "PostgreSQL's WAL directory is not known (is PostgreSQL up?)", retryable: true)
            }
            let upload = WALUpload(
                name: name, layout: layout, capabilities: capabilities, controller: controller, transfer: transfer, compressor: compressor)
            let stored = try upload.run(ahead: Self.following(name, count: ProtocolLimits.maxWALNames - 1, segmentSize: layout.segmentSize))
            capabilities.refill(Self.following(name, count: lookAheadCount(), segmentSize: layout.segmentSize))
            return .success(stored)
        } catch {
            return .failure(error)
        }
    }

    private func finish(_ name: String, _ result: Result<WALStored, SnapfleetError>) {
        let waiters = state.withLock { state in
            state.inFlight.remove(name)
            let now = Date()
            switch result {
            case .success(let stored):
                state.stored[name] = stored
                state.waitingSince[name] = nil
                state.progress.archivedCount += 1
                // Uploads run in parallel and end out of order: the newest is the highest name, as in pg_stat_archiver.
                if name >= state.progress.lastArchived?.name ?? "" { state.progress.lastArchived = (name, now) }
                state.recent.append(now)
                state.recent.removeAll { now.timeIntervalSince($0) > 3600 }
                if state.stored.count > 10_000, let oldest = state.stored.keys.min() { state.stored.removeValue(forKey: oldest) }
            case .failure(let error):
                state.failedAt[name] = now
                state.progress.failedCount += 1
                state.progress.lastFailed = (name, now, error.message)
            }
            return state.waiters.removeValue(forKey: name) ?? []
        }
        switch result {
        case .success(let stored):
            logger.debug("WAL archived", metadata: ["wal": "\(name)", "key": "\(stored.key)", "already_archived": "\(stored.alreadyArchived)"])
        case .failure(let error):
            let level: Logger.Level = error.code == .alreadyExists || !waiters.isEmpty ? .error : .warning
            logger.log(level: level, "WAL not archived", metadata: ["wal": "\(name)", "error": "\(error)"])
        }
        for waiter in waiters { waiter(result) }
    }

    /// Segments to hold URLs for: `lookAheadSeconds` at the last hour's rate, 64 to 4096.
    private func lookAheadCount() -> Int {
        let perHour = state.withLock { $0.recent.count }
        return min(4096, max(ProtocolLimits.maxWALNames, perHour * lookAheadSeconds / 3600))
    }

    // MARK: - Names

    /// The WAL file name of `path`, which must lie directly in PostgreSQL's `pg_wal` (after symlinks).
    func checkedName(_ path: String) throws(SnapfleetError) -> String {
        guard let layout = layout() else {
            throw SnapfleetError(.postgresError, "PostgreSQL's WAL directory is not known (is PostgreSQL up?)", retryable: true)
        }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let directory = URL(fileURLWithPath: layout.walDirectory).resolvingSymlinksInPath().path
        let name = (resolved as NSString).lastPathComponent
        guard (resolved as NSString).deletingLastPathComponent == directory else {
            throw SnapfleetError(.invalidBody, "\(path) is not a file of PostgreSQL's WAL directory \(layout.walDirectory)")
        }
        try Wire.checkWALArchiveName(name, field: "wal-push path")
        return name
    }

    /// The `count` segment names after `name` on its timeline (none for a non-segment file).
    static func following(_ name: String, count: Int, segmentSize: Int) -> [String] {
        guard let segment = WALFileName(name) else { return [] }
        let number = segment.segmentNumber(segmentSize: segmentSize)
        return (1...max(1, count)).map {
            WALFileName(timeline: segment.timeline, segmentNumber: number + UInt64($0), segmentSize: segmentSize).description
        }
    }
}
