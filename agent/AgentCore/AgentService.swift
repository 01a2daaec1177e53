import Foundation
import Logging
import Messaging
import PostgresBackup
import ProgramSupport
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// The running agent: one CURVE connection to the controller, the hello/heartbeat link,
/// PostgreSQL's facts, and the backup session the controller drives.
public final class AgentService: DaemonService {
    private let config: AgentConfig
    private let logger: Logger
    private let context: ZMQContext
    private let loop: MessageLoop
    private let controller: Peer
    private let link = Mutex(ControllerLink(now: Date()))
    private let report: Mutex<PostgresReport>
    private let probe: PostgresProbe
    private let driver: BackupSessionDriver
    private let probing = DispatchQueue(label: "snapfleet.agent.facts")
    private let stopped = Flag()
    private let archiver: WALArchiver
    private let fetcher: WALFetcher
    private let restoreCommand: String

    /// Loads the key, reads PostgreSQL's facts once and connects; errors name `configPath` and the key.
    public init(config: AgentConfig, configPath: String, logger: Logger) throws(SnapfleetError) {
        self.config = config
        self.logger = logger
        let keys: CurveKeyPair
        do { keys = try KeyFile.read(config.keyFile) } catch {
            throw SnapfleetError(.invalidKey, "\(configPath): key 'key_file': \(error.message)", hint: error.hint)
        }
        probe = PostgresProbe(conninfo: config.postgres)
        report = Mutex(probe.report())
        // Callbacks registered before `self` is whole reach it through this reference, set last.
        let service = WeakReference<AgentService>()
        driver = BackupSessionDriver(configuration: .init(conninfo: config.postgres)) { service.value?.leaseExpired($0) }
        context = try ZMQContext()
        loop = MessageLoop(logger: logger)
        let socket = try Sockets.curveDealer(context, keys: keys, serverKey: config.controllerPublicKey, endpoint: config.controller)
        controller = Peer(socket: loop.add(socket, isRouter: false) { service.value?.handle($0) }, routingID: nil)
        let local: ZMQSocket
        do { local = try Sockets.localRouter(context, path: config.localSocket, owner: config.localSocketUser) } catch {
            throw SnapfleetError(error.code, "\(configPath): key 'local_socket': \(error.message)", hint: error.hint)
        }
        _ = loop.add(local, isRouter: true) { service.value?.handleLocal($0) }
        let asker = Self.asker(loop: loop, controller: controller) { service.value?.link.withLock { $0.isAccepted } ?? false }
        archiver = WALArchiver(
            layout: { service.value?.walLayout }, capabilities: WALCapabilities(controller: asker), controller: asker, logger: logger,
            concurrency: config.walUploadConcurrency, lookAheadSeconds: config.walLookAheadSeconds)
        fetcher = WALFetcher(controller: asker, segmentSize: { service.value?.walLayout?.segmentSize ?? 16 << 20 }, logger: logger)
        restoreCommand = Self.restoreCommand(configPath: configPath)
        service.value = self
        loop.addTimer(every: .seconds(1)) { [weak self] in
            // Look ahead only while PostgreSQL archives through this agent: with another tool's
            // archive_command, uploading its .ready files would fill an archive nobody asked for.
            guard let self, self.archivesThroughAgent else { return }
            self.archiver.scanReady()
        }
        loop.addTimer(every: .seconds(1)) { [weak self] in self?.tick() }
        loop.addTimer(every: .seconds(1)) { [weak self] in self?.scheduleProbe() }
        logger.info("agent starting", metadata: ["controller": "\(config.controller)", "agent.key": "\(keys.publicKey)"])
        logPostgres(report.withLock { $0 })
    }

    /// Runs until `stop()`.
    public func run() {
        archiver.start()
        loop.start()
        tick()  // say hello now rather than at the first timer tick
        stopped.wait()
    }

    /// SIGHUP: the agent's few settings (controller, keys, PostgreSQL) are read at start only.
    public func reload() {
        logger.warning("SIGHUP ignored: the agent reads its configuration only at start; restart it to apply a change")
    }

    /// Ends any running backup (so PostgreSQL is not left in backup mode), then disconnects.
    public func stop() async {
        archiver.stop()
        await driver.shutdown()
        loop.stop()
        logger.info("agent stopped")
        stopped.raise()
    }

    // MARK: - The link to the controller

    private func tick() {
        for action in link.withLock({ $0.tick(now: Date()) }) { perform(action) }
    }

    private func perform(_ action: ControllerLink.Action) {
        switch action {
        case .sendHeartbeat:
            loop.send(Envelope(.heartbeat), to: controller)
            reportArchiving()
        case .sendHello:
            let hello = Hello(server: config.server, agentVersion: snapfleetVersion, hostname: Host.name, postgres: report.withLock { $0 })
            loop.request(.hello(hello), to: controller, timeout: .seconds(5)) { [weak self] in self?.helloAnswered($0) }
        }
    }

    private func helloAnswered(_ result: Result<Inbound, SnapfleetError>) {
        let now = Date()
        switch result {
        case .success(let inbound):
            guard case .helloAck(let ack) = inbound.envelope.message else { return }
            link.withLock { $0.accepted(ack, now: now) }
            lastArchivingReport.withLock { $0 = nil }  // a new controller session knows nothing yet
            reportArchiving()
            logger.info("accepted by controller", metadata: ["server": "\(ack.server)", "controller.version": "\(ack.controllerVersion)"])
        case .failure(let error):
            link.withLock { $0.helloFailed(error, now: now) }
            let level: Logger.Level = error.code == .notAuthorized ? .error : .warning
            logger.log(level: level, "controller did not accept hello", metadata: ["error.code": "\(error.code.rawValue)", "error": "\(error)"])
        }
    }

    private let lastArchivingReport = Mutex<WALArchivingReport?>(nil)

    /// Sends `wal_archiving` when it differs from the last one sent (at most once a heartbeat).
    private func reportArchiving() {
        let report = archiver.report()
        let changed = lastArchivingReport.withLock { last in
            defer { last = report }
            return last != report
        }
        if changed { loop.send(Envelope(.walArchiving(report)), to: controller) }
    }

    private func handle(_ inbound: Inbound) {
        link.withLock { $0.heard(now: Date()) }
        let message = inbound.envelope.message
        switch message {
        case .heartbeat:
            return
        case .error(let body) where body.code == .helloRequired:
            for action in link.withLock({ $0.helloRequired(now: Date()) }) { perform(action) }
        case .error(let body):
            logger.warning("controller reported an error", metadata: ["error.code": "\(body.code.rawValue)", "error": "\(body.message)"])
        case .backupStart, .backupRenew, .backupStop, .backupAbort, .backupStatus:
            answerBackupRequest(inbound)
        case .diskMap(let request):
            answerDiskMap(request, inbound)
        case .restorePrepare(let request):
            answerRestore(request, inbound)
        default:
            logger.warning("unexpected message from controller", metadata: ["message.type": "\(message.type.rawValue)"])
            guard message.type.kind == .request else { return }
            let error = SnapfleetError(.unexpectedMessage, "\(message.type.rawValue) is not a request an agent serves")
            loop.send(.error(replyingTo: inbound.envelope.id, error), to: controller)
        }
    }

    /// Backup calls can block for a checkpoint or for archiving: they run off the loop's thread.
    private func answerBackupRequest(_ inbound: Inbound) {
        let requests = BackupRequests(driver: driver)
        Task { [loop, controller, logger] in
            let reply = await requests.answer(inbound.envelope.message)
            if case .error(let body) = reply {
                logger.warning(
                    "backup request failed",
                    metadata: [
                        "message.type": "\(inbound.envelope.message.type.rawValue)", "error.code": "\(body.code.rawValue)",
                        "error": "\(body.message)",
                    ])
            }
            loop.send(.reply(to: inbound.envelope.id, reply), to: controller)
        }
    }

    /// Reading mounts, sysfs and PostgreSQL's facts blocks (a libpq connect may wait 5 s): on the
    /// blocking pool, never the loop's thread or Swift's cooperative pool.
    private func answerDiskMap(_ request: DiskMapRequest, _ inbound: Inbound) {
        BlockingPool.shared.submit { [loop, controller, probe] in
            let facts = try? probe.facts()
            let reply: Message
            do throws(SnapfleetError) {
                reply = .diskMapResult(try DiskMapping().answer(request, facts: facts))
            } catch {
                reply = .error(ErrorBody(error))
            }
            loop.send(.reply(to: inbound.envelope.id, reply), to: controller)
        }
    }

    // MARK: - Restore

    /// Checking mounts and writing files touch the disk (and `mount` may wait): off the loop's thread.
    private func answerRestore(_ request: RestorePrepare, _ inbound: Inbound) {
        let preparation = RestorePreparation(allowMount: config.allowMount, restoreCommand: restoreCommand, mapping: DiskMapping())
        BlockingPool.shared.submit { [loop, controller, logger] in
            let report = preparation.answer(request)
            logger.info(
                "restore prepared",
                metadata: ["backup.id": "\(request.backupID)", "passed": "\(report.passed)", "written": "\(report.written.count)"])
            loop.send(.reply(to: inbound.envelope.id, .restoreReport(report)), to: controller)
        }
    }

    /// `restore_command` for a restored server: this very executable and configuration file, so
    /// that it works for the `postgres` user whatever its PATH.
    private static func restoreCommand(configPath: String) -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "snapfleet-agent"
        let config = configPath.hasPrefix("/") ? configPath : FileManager.default.currentDirectoryPath + "/" + configPath
        return RecoverySettings.restoreCommand(executable: executable, configPath: config)
    }

    // MARK: - WAL (the local socket)

    /// `wal_push` waits for the archiver; `wal_fetch` downloads off the loop's thread.
    private func handleLocal(_ inbound: Inbound) {
        let (loop, peer, id) = (self.loop, inbound.peer, inbound.envelope.id)
        switch inbound.envelope.message {
        case .walPush(let push):
            archiver.push(path: push.path) { result in
                switch result {
                case .success(let stored): loop.send(.reply(to: id, .walStored(stored)), to: peer)
                case .failure(let error): loop.send(.error(replyingTo: id, error), to: peer)
                }
            }
        case .walFetch(let request):
            // On the blocking pool: a fetch may wait for a prefetch, which runs on threads of its own.
            BlockingPool.shared.submit { [fetcher, logger] in
                do throws(SnapfleetError) {
                    switch try fetcher.fetch(request.name, destination: request.destination) {
                    case .delivered:
                        // Written in place: the bytes need not cross the socket and be copied again.
                        let data = WALData(name: request.name, found: true, compression: "none", delivered: true)
                        loop.send(.reply(to: id, .walData(data)), to: peer)
                    case .bytes(let bytes):
                        loop.send(
                            .reply(to: id, .walData(WALData(name: request.name, found: true, compression: "none"))), to: peer, attachments: [bytes])
                    case .notFound:
                        loop.send(.reply(to: id, .walData(WALData(name: request.name, found: false, compression: "none"))), to: peer)
                    }
                } catch {
                    logger.warning("WAL not fetched", metadata: ["wal": "\(request.name)", "error": "\(error)"])
                    loop.send(.error(replyingTo: id, error), to: peer)
                }
            }
        default:
            let type = inbound.envelope.message.type
            guard type.kind == .request else { return }
            loop.send(.error(replyingTo: id, SnapfleetError(.unexpectedMessage, "\(type.rawValue) is not served on the local socket")), to: peer)
        }
    }

    /// Where PostgreSQL keeps its WAL, from its last facts.
    /// Whether PostgreSQL's `archive_command` calls `wal-push` (this agent's client).
    private var archivesThroughAgent: Bool {
        report.withLock { $0.facts?.archiveCommand.contains("wal-push") == true }
    }

    private var walLayout: WALArchiver.Layout? {
        report.withLock { report in
            report.facts.map { WALArchiver.Layout(walDirectory: $0.walDirectory ?? $0.dataDirectory + "/pg_wal", segmentSize: $0.walSegmentSize) }
        }
    }

    /// Requests to the controller from worker threads, which block until the reply.
    /// While the controller is away (`connected` false), requests fail at once rather than at their timeout.
    private static func asker(loop: MessageLoop, controller: Peer, connected: @escaping @Sendable () -> Bool) -> ControllerAsker {
        ControllerAsker { message, attachments, timeout in
            guard connected() else {
                return .failure(SnapfleetError(.agentNotConnected, "the controller is not reachable (no accepted hello)", retryable: true))
            }
            let done = DispatchSemaphore(value: 0)
            let result = Mutex<Result<Inbound, SnapfleetError>?>(nil)
            loop.request(message, to: controller, timeout: timeout, attachments: attachments) { outcome in
                result.withLock { $0 = outcome }
                done.signal()
            }
            done.wait()
            return result.withLock { $0 } ?? .failure(SnapfleetError(.internalError, "no result"))
        }
    }

    private func leaseExpired(_ backupID: String) {
        logger.warning("backup lease expired: backup ended", metadata: ["backup.id": "\(backupID)"])
        let notice = BackupLeaseExpired(backupID: backupID, endedAt: Timestamp.rfc3339(Date()))
        loop.send(Envelope(.backupLeaseExpired(notice)), to: controller)
    }

    // MARK: - PostgreSQL's facts

    private let lastProbe = Mutex(Date())

    /// Re-reads the facts every `facts_interval_seconds` while PostgreSQL is up, every 5 s while
    /// it is down, on a queue of its own (connecting may block for seconds).
    private func scheduleProbe() {
        let available = report.withLock { $0.available }
        let interval = available ? TimeInterval(config.factsIntervalSeconds) : 5
        let due = lastProbe.withLock { last in
            guard Date().timeIntervalSince(last) >= interval else { return false }
            last = Date()
            return true
        }
        guard due else { return }
        probing.async { [weak self] in self?.probeNow() }
    }

    private func probeNow() {
        let fresh = probe.report()
        let changed = report.withLock { current in
            defer { current = fresh }
            return current != fresh
        }
        guard changed else { return }
        logPostgres(fresh)
        for action in link.withLock({ $0.factsChanged() }) { perform(action) }
    }

    private func logPostgres(_ report: PostgresReport) {
        if let facts = report.facts {
            logger.info(
                "postgres reachable",
                metadata: [
                    "pg.version": "\(facts.serverVersionNum)", "pg.system_identifier": "\(facts.systemIdentifier)",
                    "pg.data_directory": "\(facts.dataDirectory)",
                ])
        } else {
            logger.warning("postgres unreachable", metadata: ["error": "\(report.error ?? "unknown")"])
        }
    }
}

/// A weak reference filled in once, at the end of an initializer, and only read afterwards.
private final class WeakReference<Value: AnyObject & Sendable>: @unchecked Sendable {
    // Written once before the loop or the driver can call back (init), then only read.
    weak var value: Value?
}

/// This host's name.
enum Host {
    /// `gethostname()`, or "unknown".
    static var name: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(cBuffer: buffer)
    }
}
