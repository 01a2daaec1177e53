import CloudSnapshots
import Foundation
import Logging
import Messaging
import ProgramSupport
import Scheduling
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol
import Synchronization

/// The running controller: the agents' CURVE socket, the admin socket, the registry.
public final class ControllerService: DaemonService {
    /// The configuration in force: replaced whole by a reload (SIGHUP).
    private let current: Mutex<ControllerConfig>
    private var config: ControllerConfig { current.withLock { $0 } }
    private let configPath: String
    private let trusted: TrustedKeys
    private let logger: Logger
    private let context: ZMQContext
    private let zap: ZAPHandler
    private let loop: MessageLoop
    private let registry: Mutex<AgentRegistry>
    private let stopped = Flag()
    /// Raised by SIGTERM: no backup starts any more; running ones may finish.
    private let draining = Flag()
    private let activeBackups = ActiveBackups()
    private let walArchives = WALArchives()
    private let adminRequests = AdminRequests()
    private let history = FleetHistory()
    private let slots: FairSlots
    private let scheduler: BackupScheduler
    private let startedAt = Date()
    private let metrics = FleetMetrics()
    /// The `/metrics` endpoint, when `metrics_listen` is set.
    private let metricsServer = Mutex<MetricsHTTPServer?>(nil)

    /// Loads the key, starts ZAP, binds both sockets; errors name `configPath` and the key at fault.
    public init(config: ControllerConfig, configPath: String, logger: Logger) throws(SnapfleetError) {
        current = Mutex(config)
        self.configPath = configPath
        self.logger = logger
        let keys: CurveKeyPair
        do { keys = try KeyFile.read(config.keyFile) } catch {
            throw SnapfleetError(.invalidKey, "\(configPath): key 'key_file': \(error.message)", hint: error.hint)
        }
        let bindings = config.serversByKey
        let trusted = TrustedKeys(bindings.keys)
        self.trusted = trusted
        let interval = TimeInterval(config.heartbeatIntervalMs) / 1000
        registry = Mutex(AgentRegistry(bindings: bindings, silenceLimit: 3 * interval))
        slots = FairSlots(capacity: config.maxConcurrentBackups)
        scheduler = BackupScheduler(schedules: try Self.schedules(config), timeZone: config.scheduleTimeZone, now: startedAt, logger: logger)
        context = try ZMQContext()
        zap = try ZAPHandler(context: context, logger: logger) { trusted.contains($0) }
        loop = MessageLoop(logger: logger)
        let agents = try Sockets.curveRouter(context, keys: keys, endpoint: config.listen, zapHandler: zap)
        let admin: ZMQSocket
        do { admin = try Self.adminSocket(context, path: config.adminSocket) } catch {
            throw SnapfleetError(error.code, "\(configPath): key 'admin_socket': \(error.message)", hint: error.hint)
        }
        _ = loop.add(agents, isRouter: true) { [weak self] in self?.handleAgent($0) }
        _ = loop.add(admin, isRouter: true) { [weak self] in self?.handleAdmin($0) }
        loop.addTimer(every: .milliseconds(config.heartbeatIntervalMs)) { [weak self] in self?.heartbeat() }
        Self.limitAPICalls(config)
        if let listen = config.metricsListen.flatMap(MetricsAddress.init) {
            let server = try MetricsHTTPServer(address: listen, logger: logger) { [weak self] in self?.metricsPage() ?? "" }
            metricsServer.withLock { $0 = server }
        }
        logger.info(
            "controller listening",
            metadata: [
                "listen": "\(config.listen)", "admin_socket": "\(config.adminSocket)", "controller.key": "\(keys.publicKey)",
                "servers": "\(config.servers.keys.sorted().joined(separator: ","))",
            ])
    }

    /// Puts `api_calls_per_second` into the process's cloud API gate.
    private static func limitAPICalls(_ config: ControllerConfig) {
        for (provider, rate) in config.apiRates { CloudAPIGate.shared.limit(provider, perSecond: rate) }
    }

    /// The `/metrics` page, from what is in memory (the scrape's thread reads it under the locks).
    private func metricsPage() -> String {
        let now = Date()
        let (agents, archiving) = registry.withLock { ($0.list(), $0.archivingReports()) }
        let builder = FleetStatusBuilder(
            config: config, agents: agents, archiving: archiving, history: history, active: activeBackups, scheduler: scheduler, slots: slots,
            startedAt: startedAt)
        let page = MetricsPage(
            metrics: metrics, servers: builder.allServers(now: now), usage: slots.usage, apiCalls: CloudAPIGate.shared.counts,
            messages: loop.messageCounts)
        return page.render(now: now)
    }

    /// Each scheduled server's parsed schedule (`validate()` has checked them).
    private static func schedules(_ config: ControllerConfig) throws(SnapfleetError) -> [String: CronSchedule] {
        var schedules: [String: CronSchedule] = [:]
        for (server, settings) in config.servers { schedules[server] = try settings.parsedSchedule() }
        return schedules
    }

    /// Creates the admin socket's directory (0700) if needed, then binds the socket (0600).
    private static func adminSocket(_ context: ZMQContext, path: String) throws(SnapfleetError) -> ZMQSocket {
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw SnapfleetError(.ioError, "cannot create directory \(directory)")
            }
        }
        return try Sockets.localRouter(context, path: path)
    }

    /// Runs until `stop()`; first finishes, in the background, the backups a previous run left
    /// STARTED, and reads each catalog's newest backups; runs scheduled backups throughout.
    public func run() {
        loop.start()
        let recoveries = recoverAbandonedBackups()
        Task { [scheduler, draining] in
            await scheduler.run(until: draining) { [weak self] server, slot in self?.startScheduled(server, slot: slot) }
        }
        Task {
            await self.loadHistory(of: self.config.servers)
            for recovery in recoveries { await recovery.value }
            self.catchUpMissedSlots()
        }
        stopped.wait()
    }

    /// One recovery per server with a catalog and a provider; the server counts as busy meanwhile,
    /// so a new backup cannot start (and be taken for an abandoned one) while it runs.
    private func recoverAbandonedBackups() -> [Task<Void, Never>] {
        var recoveries: [Task<Void, Never>] = []
        for (server, serverConfig) in config.servers.sorted(by: { $0.key < $1.key })
        where serverConfig.destination != nil && serverConfig.provider != nil {
            guard activeBackups.claim(server) else { continue }
            let recovery = StartedBackupRecovery(server: server, config: serverConfig, askAgent: agentAsker(server), logger: logger)
            recoveries.append(
                Task { [activeBackups] in
                    _ = await recovery.run()
                    activeBackups.release(server)
                })
        }
        return recoveries
    }

    /// Reads the catalogs' newest backups for `status`, a few catalogs at a time.
    private func loadHistory(of servers: [String: ServerConfig]) async {
        let readers = FairSlots(capacity: 8)
        let cacheRoot = config.resolvedCacheDirectory()
        await withTaskGroup(of: Void.self) { group in
            for (server, settings) in servers where settings.destination != nil {
                let loader = FleetHistoryLoader(server: server, config: settings, cacheRoot: cacheRoot)
                group.addTask { [history, logger] in
                    await readers.acquire()
                    let record = await BlockingPool.shared.run { loader.load() }
                    readers.release()
                    if let error = record.catalogError {
                        logger.warning("catalog not read for status", metadata: ["server": "\(server)", "error": "\(error)"])
                    }
                    history.merge(loaded: record, into: server)
                }
            }
        }
    }

    /// A scheduled server whose newest slot before this start passed without a backup gets one
    /// now (one, however many slots passed); the slot is logged and shown by `status`. A server
    /// with no backup at all is not caught up: nothing tells a new server from a missed one.
    /// The catch-up waits a little for the server's agent, which reconnects after the restart.
    private func catchUpMissedSlots() {
        for server in config.servers.keys.sorted() {
            guard let started = history.record(of: server).lastBackup?.startedAt.flatMap(Timestamp.parse),
                let slot = scheduler.missedSlot(of: server, lastRun: started, now: startedAt)
            else { continue }
            logger.warning(
                "a scheduled backup was missed while the controller was down; taking it now",
                metadata: ["server": "\(server)", "slot": "\(Timestamp.rfc3339(slot))"])
            history.update(server) { $0.missedSlot = slot }
            Task {
                await self.waitForAgent(of: server, upTo: .seconds(max(30, 3 * self.config.heartbeatIntervalMs / 1000)))
                self.startScheduled(server, slot: slot)
            }
        }
    }

    /// Returns once the server's agent is connected, or after `limit` (the backup then fails its
    /// pre-flight checks with the reason, as any backup of an absent agent does).
    private func waitForAgent(of server: String, upTo limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while registry.withLock({ $0.peer(of: server) }) == nil, ContinuousClock.now < deadline, !draining.isRaised {
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Starts the scheduled backup of `server` for `slot`, unless its previous one is still running or queued.
    private func startScheduled(_ server: String, slot: Date) {
        guard let settings = config.servers[server], !draining.isRaised else { return }
        guard !activeBackups.isBusy(server) else {
            return logger.warning(
                "scheduled backup skipped: the previous backup of this server is still running or queued",
                metadata: ["server": "\(server)", "slot": "\(Timestamp.rfc3339(slot))"])
        }
        // `validate()` rendered the template once already; it cannot fail for another date.
        let name = settings.backupName.flatMap { try? BackupNameTemplate($0).render(server: server, at: slot, in: config.scheduleTimeZone) }
        let coordinator = coordinator(server, settings)
        logger.info("scheduled backup due", metadata: ["server": "\(server)", "slot": "\(Timestamp.rfc3339(slot))"])
        Task { [logger] in
            do throws(SnapfleetError) {
                _ = try await coordinator.run(BackupRunRequest(server: server, name: name, immediateCheckpoint: false))
            } catch {
                logger.error("scheduled backup not taken", metadata: ["server": "\(server)", "error": "\(error)"])
            }
        }
    }

    /// Lets running backups finish (for `shutdown_timeout_seconds` at most; queued ones do not
    /// start), then stops serving, closes the sockets and removes the admin socket file.
    public func stop() async {
        draining.raise()
        await finishRunningBackups()
        metricsServer.withLock { $0 }?.stop()
        loop.stop()
        zap.stop()
        unlink(config.adminSocket)
        logger.info("controller stopped")
        stopped.raise()
    }

    /// Waits while backups run; past the timeout, says which are left (the next start's recovery
    /// finishes or reconciles each, and their agents end backup mode when the lease runs out).
    private func finishRunningBackups() async {
        let deadline = Date().addingTimeInterval(TimeInterval(config.shutdownTimeoutSeconds))
        var announced = false
        while case let running = activeBackups.busyServers, !running.isEmpty {
            if Date() >= deadline {
                return logger.warning(
                    "stopping with backups still running; the next start finishes them",
                    metadata: ["servers": "\(running.joined(separator: ","))"])
            }
            if !announced {
                logger.info("waiting for running backups to finish", metadata: ["servers": "\(running.joined(separator: ","))"])
                announced = true
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Reads the configuration file again and puts it in force: servers added, changed and
    /// removed, schedules, slots, limits. Running backups keep the settings they started with;
    /// a file that does not load, or that changes what takes a restart, is refused and logged.
    public func reload() {
        let fresh: ControllerConfig
        let schedules: [String: CronSchedule]
        do throws(SnapfleetError) {
            fresh = try ConfigLoader.load(ControllerConfig.self, from: configPath)
            if let blocker = config.reloadBlocker(fresh) { throw SnapfleetError(.invalidConfiguration, "\(configPath): \(blocker)") }
            schedules = try Self.schedules(fresh)
        } catch {
            return logger.error("configuration not reloaded; the running one stays in force", metadata: ["error": "\(error)"])
        }
        let old = current.withLock { current in
            defer { current = fresh }
            return current
        }
        let bindings = fresh.serversByKey
        trusted.replace(with: bindings.keys)
        let ended = registry.withLock { $0.rebind(bindings) }
        scheduler.replace(schedules, timeZone: fresh.scheduleTimeZone, now: Date())
        slots.resize(to: fresh.maxConcurrentBackups)
        Self.limitAPICalls(fresh)
        walArchives.forgetAll()
        let added = fresh.servers.filter { old.servers[$0.key] == nil }
        let changed = fresh.servers.filter { old.servers[$0.key] != nil && old.servers[$0.key] != $0.value }
        Task { await self.loadHistory(of: added.merging(changed) { new, _ in new }) }
        let removed = old.servers.keys.filter { fresh.servers[$0] == nil }
        func names(_ servers: some Sequence<String>) -> Logger.MetadataValue { "\(servers.sorted().joined(separator: ","))" }
        logger.info(
            "configuration reloaded",
            metadata: [
                "servers.added": names(added.keys), "servers.changed": names(changed.keys), "servers.removed": names(removed),
                "agents.ended": names(ended),
            ])
    }

    /// Sends a request to a server's agent and waits for the reply.
    public func request(_ message: Message, server: String, timeout: Duration) async throws(SnapfleetError) -> Inbound {
        guard let peer = registry.withLock({ $0.peer(of: server) }) else {
            throw SnapfleetError(.agentNotConnected, "no agent is connected for server '\(server)'", retryable: true)
        }
        return try await loop.request(message, to: peer, timeout: timeout)
    }

    // MARK: - Agents

    private func handleAgent(_ inbound: Inbound) {
        let message = inbound.envelope.message
        if case .hello(let hello) = message { return accept(hello, inbound) }
        guard let server = registry.withLock({ $0.touch(inbound.peer, now: Date()) }) else {
            return refuseUnknownPeer(inbound)
        }
        switch message {
        case .heartbeat:
            break
        case .walArchiving(let report):
            registry.withLock { $0.recordArchiving(report, server: server) }
        case .backupLeaseExpired(let notice):
            logger.warning("agent ended a backup whose lease expired", metadata: ["server": "\(server)", "backup.id": "\(notice.backupID)"])
            activeBackups.runner(of: server)?.leaseExpired()
        case .error(let body):
            logger.warning(
                "agent reported an error", metadata: ["server": "\(server)", "error.code": "\(body.code.rawValue)", "error": "\(body.message)"])
        case .walURLsRequest, .walPut, .walGet:
            answerWAL(inbound, server: server)
        default:
            refuse(inbound, SnapfleetError(.unexpectedMessage, "\(message.type.rawValue) is not a message an agent may send"))
        }
    }

    private func accept(_ hello: Hello, _ inbound: Inbound) {
        do {
            let (server, replaced, isNew) = try registry.withLock { registry throws(SnapfleetError) in
                let known = registry.server(of: inbound.peer) != nil
                let accepted = try registry.accept(hello, from: inbound.peer, key: inbound.userID, now: Date())
                return (accepted.server, accepted.replaced, !known)
            }
            // An agent that said hello several times while the controller was away (its socket
            // queued them) is one connection: logged once.
            if isNew { logger.info("agent connected", metadata: agentMetadata(server: server, hello: hello)) }
            // A new connection of the same agent: requests sent on the old one may have been lost
            // with it; they fail now (retryable) instead of waiting out their timeouts.
            if let replaced {
                loop.failRequests(to: replaced, SnapfleetError(.agentNotConnected, "the agent reconnected", retryable: true))
            }
            let ack = HelloAck(server: server, controllerVersion: snapfleetVersion, heartbeatIntervalMs: config.heartbeatIntervalMs)
            loop.send(.reply(to: inbound.envelope.id, .helloAck(ack)), to: inbound.peer)
        } catch {
            logger.warning(
                "agent refused", metadata: ["agent.key": "\(inbound.userID ?? "-")", "server": "\(hello.server ?? "-")", "error": "\(error)"])
            loop.send(.error(replyingTo: inbound.envelope.id, error), to: inbound.peer)
        }
    }

    private func agentMetadata(server: String, hello: Hello) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["server": "\(server)", "agent.version": "\(hello.agentVersion)", "agent.host": "\(hello.hostname)"]
        if let facts = hello.postgres.facts {
            metadata["pg.version"] = "\(facts.serverVersionNum)"
            metadata["pg.system_identifier"] = "\(facts.systemIdentifier)"
        } else {
            metadata["pg.error"] = "\(hello.postgres.error ?? "unknown")"
        }
        return metadata
    }

    /// A connection that has not said hello gets `hello_required` (as a reply to a request,
    /// or unsolicited for a notification, which makes the agent say hello again).
    private func refuseUnknownPeer(_ inbound: Inbound) {
        let error = SnapfleetError(.helloRequired, "say hello first", retryable: true)
        let replyID = inbound.envelope.message.type.kind == .request ? inbound.envelope.id : nil
        loop.send(.error(replyingTo: replyID, error), to: inbound.peer)
    }

    private func refuse(_ inbound: Inbound, _ error: SnapfleetError) {
        logger.warning("message refused", metadata: ["message.type": "\(inbound.envelope.message.type.rawValue)", "error": "\(error)"])
        guard inbound.envelope.message.type.kind == .request else { return }
        loop.send(.error(replyingTo: inbound.envelope.id, error), to: inbound.peer)
    }

    private func heartbeat() {
        let (peers, silent) = registry.withLock { registry in
            (registry.connectedPeers, registry.expireSilent(now: Date()))
        }
        for server in silent {
            logger.warning("agent went silent", metadata: ["server": "\(server)"])
            // A backup waiting on this agent fails now rather than at its request's timeout.
            guard let peer = registry.withLock({ $0.lastPeer(of: server) }) else { continue }
            let silence = Double(3 * config.heartbeatIntervalMs) / 1000
            loop.failRequests(to: peer, SnapfleetError(.agentNotConnected, "the agent went silent (no heartbeat for \(silence) s)", retryable: true))
        }
        for peer in peers { loop.send(Envelope(.heartbeat), to: peer) }
    }

    // MARK: - WAL

    /// Signing, or reading and writing a `file://` archive, touches credentials and disks: off the loop's thread.
    private func answerWAL(_ inbound: Inbound, server: String) {
        guard let serverConfig = config.servers[server] else { return }
        Task { [loop, walArchives, logger] in
            let reply = await BlockingPool.shared.run { () -> (Message, [[UInt8]]) in
                do throws(SnapfleetError) {
                    let archive = try walArchives.archive(server: server, config: serverConfig, logger: logger)
                    let requests = WALRequests(archive: archive)
                    guard case .walPut = inbound.envelope.message else {
                        return try requests.answer(inbound.envelope.message, attachments: inbound.attachments)
                    }
                    return try walArchives.withPutSlot { () throws(SnapfleetError) in
                        try requests.answer(inbound.envelope.message, attachments: inbound.attachments)
                    }
                } catch {
                    logger.warning(
                        "WAL request refused",
                        metadata: ["server": "\(server)", "message.type": "\(inbound.envelope.message.type.rawValue)", "error": "\(error)"])
                    return (.error(ErrorBody(error)), [])
                }
            }
            loop.send(.reply(to: inbound.envelope.id, reply.0), to: inbound.peer, attachments: reply.1)
        }
    }

    // MARK: - Operators

    /// A backup takes seconds to hours: it runs as a task; the operator's reply comes at its end.
    private func backup(_ request: BackupRunRequest, _ inbound: Inbound) {
        guard let serverConfig = config.servers[request.server] else {
            let error = SnapfleetError(.unknownServer, "no server named '\(request.server)' in the configuration")
            return answerOperator(inbound, .error(replyingTo: inbound.envelope.id, error))
        }
        guard !draining.isRaised else {
            let error = SnapfleetError(.refused, "the controller is shutting down", retryable: true)
            return answerOperator(inbound, .error(replyingTo: inbound.envelope.id, error))
        }
        let coordinator = coordinator(request.server, serverConfig) { [loop] progress in
            loop.send(Envelope(.backupProgress(progress)), to: inbound.peer)
        }
        Task {
            let reply: Message
            do throws(SnapfleetError) {
                reply = .backupResult(try await coordinator.run(request))
            } catch {
                reply = .error(ErrorBody(error))
            }
            self.answerOperator(inbound, .reply(to: inbound.envelope.id, reply))
        }
    }

    /// A coordinator for one backup of `server`; `onProgress` hears its progress.
    private func coordinator(
        _ server: String, _ settings: ServerConfig, onProgress: @escaping @Sendable (BackupProgress) -> Void = { _ in }
    ) -> BackupCoordinator {
        BackupCoordinator(
            server: server, config: settings, leaseSeconds: config.backupLeaseSeconds, cacheRoot: config.resolvedCacheDirectory(),
            preflight: preflightRunner(server), askAgent: agentAsker(server), askAgentWithin: timedAgentAsker(server),
            logger: logger, active: activeBackups, slots: slots,
            history: history, onProgress: onProgress, draining: draining, metrics: metrics)
    }

    /// The fleet's state, from memory: answered on the loop's thread.
    private func status(_ request: StatusRequest, _ inbound: Inbound) {
        let (agents, archiving) = registry.withLock { ($0.list(), $0.archivingReports()) }
        let builder = FleetStatusBuilder(
            config: config, agents: agents, archiving: archiving, history: history, active: activeBackups, scheduler: scheduler, slots: slots,
            startedAt: startedAt)
        let answer: Envelope
        do throws(SnapfleetError) {
            answer = .reply(to: inbound.envelope.id, .statusReport(try builder.report(request, now: Date())))
        } catch {
            answer = .error(replyingTo: inbound.envelope.id, error)
        }
        answerOperator(inbound, answer)
    }

    /// A restore may create disks and wait for them: it runs as a task; the reply comes at its end.
    private func restore(_ request: RestoreRunRequest, _ inbound: Inbound) {
        let coordinator = RestoreCoordinator(
            config: config,
            askAgent: { [weak self] server, message throws(SnapfleetError) in
                guard let self else { throw SnapfleetError(.ioError, "controller stopping") }
                return try await self.agentAsker(server)(message)
            }, logger: logger)
        Task {
            let reply: Message
            do throws(SnapfleetError) {
                reply = .restoreResult(try await coordinator.run(request))
            } catch {
                reply = .error(ErrorBody(error))
            }
            self.answerOperator(inbound, .reply(to: inbound.envelope.id, reply))
        }
    }

    private func agentAsker(_ server: String) -> @Sendable (Message) async throws(SnapfleetError) -> Message {
        { [weak self] message throws(SnapfleetError) in
            guard let self else { throw SnapfleetError(.ioError, "controller stopping") }
            return try await self.request(message, server: server, timeout: .seconds(600)).envelope.message
        }
    }

    /// `agentAsker` with the caller's timeout.
    private func timedAgentAsker(_ server: String) -> @Sendable (Message, Duration) async throws(SnapfleetError) -> Message {
        { [weak self] message, timeout throws(SnapfleetError) in
            guard let self else { throw SnapfleetError(.ioError, "controller stopping") }
            return try await self.request(message, server: server, timeout: timeout).envelope.message
        }
    }

    private func preflightRunner(_ server: String) -> PreflightRunner {
        PreflightRunner(askAgent: agentAsker(server), hello: { [weak self] in self?.registry.withLock { $0.hello(of: server) } })
    }

    /// Pre-flight checks call the cloud and the agent: they run off the loop's thread.
    private func check(_ server: String, _ inbound: Inbound) {
        guard let serverConfig = config.servers[server] else {
            let error = SnapfleetError(.unknownServer, "no server named '\(server)' in the configuration")
            return answerOperator(inbound, .error(replyingTo: inbound.envelope.id, error))
        }
        let runner = preflightRunner(server)
        Task { [logger] in
            let report = await runner.run(server: server, config: serverConfig)
            logger.info("pre-flight checks ran", metadata: ["server": "\(server)", "passed": "\(report.passed)"])
            self.answerOperator(inbound, .reply(to: inbound.envelope.id, .checkReport(report)))
        }
    }

    private func handleAdmin(_ inbound: Inbound) {
        // An operator command says its request again after a quiet wait (in case this controller
        // restarted): the request in progress will answer it; it must not run twice.
        guard adminRequests.begin(inbound) else {
            return logger.debug("repeated operator request ignored", metadata: ["message.type": "\(inbound.envelope.message.type.rawValue)"])
        }
        switch inbound.envelope.message {
        case .agentsList(let request):
            let page = registry.withLock { $0.page(after: request.after, limit: AgentsList.pageSize) }
            answerOperator(inbound, .reply(to: inbound.envelope.id, .agents(AgentsList(agents: page.agents, more: page.more))))
        case .checkServer(let request):
            check(request.server, inbound)
        case .backupRun(let request):
            backup(request, inbound)
        case .restoreRun(let request):
            restore(request, inbound)
        case .statusRequest(let request):
            status(request, inbound)
        default:
            adminRequests.end(inbound)
            refuse(inbound, SnapfleetError(.unexpectedMessage, "\(inbound.envelope.message.type.rawValue) is not an operator request"))
        }
    }

    /// Sends the answer to an operator's request and forgets the request.
    private func answerOperator(_ inbound: Inbound, _ answer: Envelope) {
        adminRequests.end(inbound)
        loop.send(answer, to: inbound.peer)
    }
}

/// The operator requests being served, by client and message id, so that a repeated one is not run twice.
final class AdminRequests: Sendable {
    private struct Key: Hashable {
        let client: [UInt8]
        let id: MessageID
    }

    private let inProgress = Mutex<Set<Key>>([])

    /// Creates an empty table.
    init() {}

    /// Whether `inbound` is new (and now in progress); false for a repeat of one still in progress.
    /// Notifications and replies are never tracked.
    func begin(_ inbound: Inbound) -> Bool {
        guard inbound.envelope.message.type.kind == .request else { return true }
        return inProgress.withLock { $0.insert(Self.key(inbound)).inserted }
    }

    /// The request has been answered.
    func end(_ inbound: Inbound) {
        _ = inProgress.withLock { $0.remove(Self.key(inbound)) }
    }

    private static func key(_ inbound: Inbound) -> Key {
        Key(client: inbound.peer.routingID ?? [], id: inbound.envelope.id)
    }
}
