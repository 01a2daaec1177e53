import ControllerCore
import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("AgentRegistry: identity from the authenticated key, liveness from the clock")
struct AgentRegistryTests {
    let keyA: CurvePublicKey
    let keyB: CurvePublicKey
    let stranger: CurvePublicKey
    let t0 = Date(timeIntervalSince1970: 1_764_106_200)  // 2025-11-25T21:30:00Z
    let peer1 = Peer(socket: SocketID(index: 0), routingID: [0, 1, 2, 3])
    let peer2 = Peer(socket: SocketID(index: 0), routingID: [0, 9, 9, 9])

    init() throws {
        keyA = try CurveKeyPair.generate().publicKey
        keyB = try CurveKeyPair.generate().publicKey
        stranger = try CurveKeyPair.generate().publicKey
    }

    /// A key bound to pg1 only, another bound to pg2 and pg3.
    func registry(silenceLimit: TimeInterval = 15) -> AgentRegistry {
        AgentRegistry(bindings: [keyA: ["pg1"], keyB: ["pg2", "pg3"]], silenceLimit: silenceLimit)
    }

    let facts = PostgresFacts(
        serverVersionNum: 150_018, serverVersion: "15.18 (Debian 15.18-0+deb12u1)", systemIdentifier: "7441234567890123456",
        dataDirectory: "/var/lib/postgresql/15/main", tablespaces: [], walDirectory: nil, walLevel: "replica",
        archiveMode: "on", archiveCommand: "snapfleet-wal-archive %p", walSegmentSize: 16 << 20, inRecovery: false)

    func hello(_ server: String?, postgres: PostgresReport? = nil) -> Hello {
        Hello(server: server, agentVersion: "0.1.0", hostname: "db1.example", postgres: postgres ?? .up(facts))
    }

    @Test("a reload's bindings end the sessions of removed servers and of keys no longer bound, and keep the others")
    func rebindEndsStaleSessions() throws {
        var registry = registry()
        _ = try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0)
        _ = try registry.hello(hello("pg2"), from: peer2, key: keyB.z85, now: t0)
        let ended = registry.rebind([keyA: ["pg1", "pg4"], stranger: ["pg2"]])
        #expect(ended == ["pg2"], "pg2 is now bound to another key")
        #expect(registry.peer(of: "pg1") == peer1)
        #expect(registry.peer(of: "pg2") == nil)
        #expect(registry.list().map(\.server) == ["pg1", "pg2", "pg4"])
        #expect(throws: SnapfleetError.self) { try registry.hello(hello("pg3"), from: peer2, key: keyB.z85, now: t0) }
    }

    @Test("a hello from a key bound to the server it names is accepted")
    func authorizedHello() throws {
        var registry = registry()
        #expect(try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0) == "pg1")
        #expect(registry.server(of: peer1) == "pg1")
        #expect(registry.peer(of: "pg1") == peer1)
        #expect(registry.connectedPeers == [peer1])
    }

    @Test("a key bound to pg1 may not speak for pg2")
    func wrongServerClaim() {
        var registry = registry()
        let error = #expect(throws: SnapfleetError.self) { try registry.hello(hello("pg2"), from: peer1, key: keyA.z85, now: t0) }
        #expect(error?.code == .notAuthorized)
        #expect(error?.message == "this agent's key may not speak for server 'pg2'")
        #expect(error?.hint == "bind the key to 'pg2' in the controller configuration")
        #expect(registry.peer(of: "pg2") == nil)
        #expect(registry.server(of: peer1) == nil)
    }

    @Test("a hello that names no server gets the one server its key is bound to")
    func nilClaimSingleBinding() throws {
        var registry = registry()
        #expect(try registry.hello(hello(nil), from: peer1, key: keyA.z85, now: t0) == "pg1")
        #expect(registry.peer(of: "pg1") == peer1)
    }

    @Test("a hello that names no server is refused when its key is bound to several")
    func nilClaimSeveralBindings() throws {
        var registry = registry()
        let error = #expect(throws: SnapfleetError.self) { try registry.hello(hello(nil), from: peer1, key: keyB.z85, now: t0) }
        #expect(error?.code == .notAuthorized)
        #expect(error?.message == "this agent's key is bound to several servers (pg2, pg3)")
        #expect(error?.hint == "set 'server' in the agent configuration")
        #expect(try registry.hello(hello("pg3"), from: peer1, key: keyB.z85, now: t0) == "pg3")
    }

    @Test("a connection without an authorized key is refused", arguments: [nil, "", "not-a-key"])
    func noKey(key: String?) {
        var registry = registry()
        #expect(throws: SnapfleetError(.notAuthorized, "connection has no authorized agent key")) {
            try registry.hello(hello("pg1"), from: peer1, key: key, now: t0)
        }
        #expect(registry.list().allSatisfy { !$0.connected })
    }

    @Test("a valid key that is not in the configuration is refused")
    func unknownKey() {
        var registry = registry()
        #expect(throws: SnapfleetError(.notAuthorized, "connection has no authorized agent key")) {
            try registry.hello(hello("pg1"), from: peer1, key: stranger.z85, now: t0)
        }
    }

    @Test("a peer that never said hello is not known to touch")
    func touchUnknownPeer() throws {
        var registry = registry()
        #expect(registry.touch(peer1, now: t0) == nil)
        _ = try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0)
        #expect(registry.touch(peer2, now: t0) == nil)
        #expect(registry.touch(peer1, now: t0.addingTimeInterval(3)) == "pg1")
        #expect(registry.list().first?.lastHeartbeat == Timestamp.rfc3339(t0.addingTimeInterval(3)))
    }

    @Test("an agent silent beyond the limit is expired, and list keeps what it reported")
    func silenceExpires() throws {
        var registry = registry(silenceLimit: 15)
        _ = try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0)
        _ = registry.touch(peer1, now: t0.addingTimeInterval(5))
        #expect(registry.expireSilent(now: t0.addingTimeInterval(20)) == [], "15 s since the last touch is not beyond the limit")
        #expect(registry.expireSilent(now: t0.addingTimeInterval(20.5)) == ["pg1"])
        #expect(registry.expireSilent(now: t0.addingTimeInterval(30)) == [], "an expired agent is reported once")

        let info = try #require(registry.list().first { $0.server == "pg1" })
        #expect(info.connected == false)
        #expect(info.agentVersion == "0.1.0")
        #expect(info.hostname == "db1.example")
        #expect(info.systemIdentifier == "7441234567890123456")
        #expect(info.pgVersionNum == 150_018)
        #expect(info.lastHeartbeat == Timestamp.rfc3339(t0.addingTimeInterval(5)))
        #expect(registry.peer(of: "pg1") == nil)
        #expect(registry.server(of: peer1) == nil)
        #expect(registry.connectedPeers.isEmpty)
        #expect(registry.touch(peer1, now: t0.addingTimeInterval(31)) == nil, "an expired agent must say hello again")

        #expect(try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0.addingTimeInterval(32)) == "pg1")
        #expect(registry.list().first { $0.server == "pg1" }?.connected == true)
    }

    @Test("a hello from a new connection replaces the old one and restarts connected_since")
    func reconnect() throws {
        var registry = registry()
        _ = try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0)
        _ = try registry.hello(hello("pg1"), from: peer1, key: keyA.z85, now: t0.addingTimeInterval(10))
        #expect(registry.list().first?.connectedSince == Timestamp.rfc3339(t0), "a repeated hello on one connection keeps it")

        _ = try registry.hello(hello("pg1"), from: peer2, key: keyA.z85, now: t0.addingTimeInterval(20))
        #expect(registry.peer(of: "pg1") == peer2)
        #expect(registry.server(of: peer1) == nil)
        #expect(registry.list().first?.connectedSince == Timestamp.rfc3339(t0.addingTimeInterval(20)))
    }

    @Test("list covers every configured server, sorted, with only what is known filled in")
    func listEveryServer() throws {
        var registry = AgentRegistry(bindings: [keyB: ["pg3", "pg2"], keyA: ["pg1"], stranger: ["alpha"]], silenceLimit: 15)
        _ = try registry.hello(hello("pg2", postgres: .down("connection refused")), from: peer1, key: keyB.z85, now: t0)
        let list = registry.list()
        #expect(list.map(\.server) == ["alpha", "pg1", "pg2", "pg3"])
        #expect(list.map(\.connected) == [false, false, true, false])
        #expect(list[0] == AgentInfo(server: "alpha", connected: false))
        let pg2 = list[2]
        #expect(pg2.postgresAvailable == false)
        #expect(pg2.postgresError == "connection refused")
        #expect(pg2.pgVersion == nil)
        #expect(pg2.systemIdentifier == nil)
        #expect(pg2.connectedSince == "2025-11-25T21:30:00Z")
    }

    @Test("the fleet is listed a page at a time, by name, each page after the last server of the one before")
    func listedByPages() throws {
        let names = (0..<450).map { String(format: "pg%04d", $0) }
        let registry = AgentRegistry(bindings: [keyA: Set(names)], silenceLimit: 15)
        var seen: [String] = []
        var pages = 0
        var more = true
        while more {
            let page = registry.page(after: seen.last, limit: AgentsList.pageSize)
            #expect(page.agents.count <= AgentsList.pageSize)
            seen += page.agents.map(\.server)
            more = page.more
            pages += 1
        }
        #expect(pages == 3)
        #expect(seen == names)
        #expect(registry.page(after: "pg0449", limit: 200).agents.isEmpty)
        #expect(registry.page(after: "pg0199", limit: 200).more == true)
        #expect(registry.page(after: "pg0249", limit: 200).more == false)
    }
}
