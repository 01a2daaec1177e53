import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol

/// Which agent is connected for which server, and what it last reported.
///
/// A value type with no I/O: the controller feeds it hellos, heartbeats and the clock.
/// Identity comes only from the authenticated key ZAP attached to the connection; the
/// server named in a hello is checked against that key's bindings.
public struct AgentRegistry: Sendable {
    /// Key → the servers it may speak for.
    private var bindings: [CurvePublicKey: Set<String>]
    /// Every configured server name.
    private var servers: [String]
    /// How long an agent may stay silent before it counts as disconnected.
    private let silenceLimit: TimeInterval
    private var sessions: [String: AgentSession] = [:]
    /// The server each connection last said hello for: every message is looked up by its peer.
    private var serverByPeer: [Peer: String] = [:]

    /// Creates an empty registry for a configured fleet.
    public init(bindings: [CurvePublicKey: Set<String>], silenceLimit: TimeInterval) {
        self.bindings = bindings
        self.servers = bindings.values.flatMap { $0 }.sorted()
        self.silenceLimit = silenceLimit
    }

    /// Accepts a hello if `key` may speak for the server it names (or for exactly one server,
    /// when it names none); returns that server.
    public mutating func hello(_ hello: Hello, from peer: Peer, key: String?, now: Date) throws(SnapfleetError) -> String {
        try accept(hello, from: peer, key: key, now: now).server
    }

    /// Accepts a hello as `hello(_:from:key:now:)` does; also returns the connection it replaces
    /// (the agent reconnected: what was sent on the old one may never arrive).
    public mutating func accept(_ hello: Hello, from peer: Peer, key: String?, now: Date) throws(SnapfleetError) -> (
        server: String, replaced: Peer?
    ) {
        let server = try authorize(hello.server, key: key)
        let replaced = sessions[server].flatMap { $0.peer != peer ? $0.peer : nil }
        let since = sessions[server].flatMap { $0.peer == peer ? $0.connectedSince : nil } ?? now
        let archiving = sessions[server]?.archiving
        sessions[server] = AgentSession(
            peer: peer, hello: hello, key: key ?? "", connectedSince: since, lastSeen: now, connected: true, archiving: archiving)
        if let replaced { serverByPeer[replaced] = nil }
        serverByPeer[peer] = server
        return (server, replaced)
    }

    /// Puts in a reloaded fleet's bindings. The session of a server no longer configured, or
    /// whose agent's key may no longer speak for it, ends; returns those servers, sorted.
    public mutating func rebind(_ bindings: [CurvePublicKey: Set<String>]) -> [String] {
        self.bindings = bindings
        servers = bindings.values.flatMap { $0 }.sorted()
        let ended = sessions.filter { server, session in
            guard let key = try? CurvePublicKey(z85: session.key) else { return true }
            return bindings[key]?.contains(server) != true
        }.keys.sorted()
        for server in ended {
            if let peer = sessions[server]?.peer, serverByPeer[peer] == server { serverByPeer[peer] = nil }
            sessions[server] = nil
        }
        return ended
    }

    /// Keeps the WAL archiving report of the server's agent.
    public mutating func recordArchiving(_ report: WALArchivingReport, server: String) { sessions[server]?.archiving = report }

    /// Each server's last WAL archiving report.
    public func archivingReports() -> [String: WALArchivingReport] { sessions.compactMapValues(\.archiving) }

    /// The server a key may speak for, or why not.
    private func authorize(_ claimed: String?, key: String?) throws(SnapfleetError) -> String {
        guard let key, let publicKey = try? CurvePublicKey(z85: key), let allowed = bindings[publicKey] else {
            throw SnapfleetError(.notAuthorized, "connection has no authorized agent key")
        }
        if let claimed {
            guard allowed.contains(claimed) else {
                throw SnapfleetError(
                    .notAuthorized, "this agent's key may not speak for server '\(claimed)'",
                    hint: "bind the key to '\(claimed)' in the controller configuration")
            }
            return claimed
        }
        guard allowed.count == 1, let only = allowed.first else {
            throw SnapfleetError(
                .notAuthorized, "this agent's key is bound to several servers (\(allowed.sorted().joined(separator: ", ")))",
                hint: "set 'server' in the agent configuration")
        }
        return only
    }

    /// Records that `peer` was heard from; returns its server, or nil if it never said hello
    /// on this connection (it must, before anything else).
    public mutating func touch(_ peer: Peer, now: Date) -> String? {
        guard let server = server(of: peer) else { return nil }
        sessions[server]?.lastSeen = now
        sessions[server]?.connected = true
        return server
    }

    /// The server a connected peer speaks for.
    public func server(of peer: Peer) -> String? {
        guard let server = serverByPeer[peer], let session = sessions[server], session.peer == peer, session.connected else { return nil }
        return server
    }

    /// The connection of a server's agent, if it is connected.
    public func peer(of server: String) -> Peer? {
        sessions[server].flatMap { $0.connected ? $0.peer : nil }
    }

    /// The last hello of a server's agent, if it is connected.
    public func hello(of server: String) -> Hello? {
        sessions[server].flatMap { $0.connected ? $0.hello : nil }
    }

    /// The peers of every connected agent.
    public var connectedPeers: [Peer] { sessions.values.filter(\.connected).map(\.peer) }

    /// The connection a server's agent last used, connected or not (to fail what still waits on it).
    public func lastPeer(of server: String) -> Peer? { sessions[server]?.peer }

    /// Marks agents silent for longer than the limit as disconnected; returns their servers.
    public mutating func expireSilent(now: Date) -> [String] {
        let silent = sessions.filter { $0.value.connected && now.timeIntervalSince($0.value.lastSeen) > silenceLimit }.map(\.key)
        for server in silent { sessions[server]?.connected = false }
        return silent.sorted()
    }

    /// One entry per configured server, sorted by name.
    public func list() -> [AgentInfo] { page(after: nil, limit: Int.max).agents }

    /// Up to `limit` servers after `after` (by name), and whether more follow.
    public func page(after: String?, limit: Int) -> (agents: [AgentInfo], more: Bool) {
        // `servers` is kept sorted (at init and at every reload).
        let remaining = after.map { after in servers.filter { $0 > after } } ?? servers
        let agents = remaining.prefix(limit).map { server in
            guard let session = sessions[server] else { return AgentInfo(server: server, connected: false) }
            return session.info(server: server)
        }
        return (Array(agents), remaining.count > limit)
    }
}

/// What the registry keeps per server.
struct AgentSession: Sendable {
    var peer: Peer
    var hello: Hello
    /// The authenticated key (Z85) it connected with.
    var key: String
    var connectedSince: Date
    var lastSeen: Date
    var connected: Bool
    /// The agent's last `wal_archiving` (kept while it is away: the last known state).
    var archiving: WALArchivingReport?

    func info(server: String) -> AgentInfo {
        let facts = hello.postgres.facts
        return AgentInfo(
            server: server, connected: connected, agentVersion: hello.agentVersion, hostname: hello.hostname,
            postgresAvailable: hello.postgres.available, postgresError: hello.postgres.error,
            pgVersionNum: facts?.serverVersionNum, pgVersion: facts?.serverVersion,
            systemIdentifier: facts?.systemIdentifier, dataDirectory: facts?.dataDirectory,
            connectedSince: Timestamp.rfc3339(connectedSince), lastHeartbeat: Timestamp.rfc3339(lastSeen))
    }
}
