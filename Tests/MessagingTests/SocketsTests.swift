import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

@Suite("Sockets: only CURVE on TCP, and a private, single-owner admin socket")
struct SocketsTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "sockets", mode: 0o755)
    }

    @Test("the local socket file is created with mode 0600")
    func localSocketMode() throws {
        let path = directory.file("admin.sock")
        let context = try ZMQContext()
        let socket = try Sockets.localRouter(context, path: path)
        defer { socket.close() }
        let status = try #require(fileStatus(path))
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o777 == 0o600)
    }

    @Test("a second server on a live socket path is refused, and the first keeps serving")
    func secondServerRefused() throws {
        let path = directory.file("admin.sock")
        let server = try LocalServer(path: path) { inbound in .reply(to: inbound.envelope.id, .agents(AgentsList(agents: [], more: false))) }
        defer { server.stop() }

        let context = try ZMQContext()
        let error = try #require(throws: SnapfleetError.self) { try Sockets.localRouter(context, path: path) }
        #expect(error.code == .ioError)
        #expect(error.message == "\(path) is in use by another process")
        #expect(error.message.contains("in use"))
        #expect(error.hint == "is another instance running?")

        #expect(
            try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: path, timeout: .seconds(3))
                == .agents(AgentsList(agents: [], more: false)))
    }

    @Test("a socket file left behind by a dead process is taken over")
    func staleSocketTakenOver() throws {
        let path = directory.file("stale.sock")
        // Bind a plain unix socket and close it without unlinking: what a crash leaves.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(bound == 0)
        #expect(fileStatus(path) != nil)

        let server = try LocalServer(path: path) { inbound in .reply(to: inbound.envelope.id, .agents(AgentsList(agents: [], more: false))) }
        defer { server.stop() }
        #expect(
            try LocalClient.call(.agentsList(AgentsListRequest()), socketPath: path, timeout: .seconds(3))
                == .agents(AgentsList(agents: [], more: false)))
    }

    @Test("local socket paths must be absolute and fit in sockaddr_un", arguments: ["admin.sock", "/" + String(repeating: "a", count: 100)])
    func badSocketPath(path: String) throws {
        let context = try ZMQContext()
        #expect(
            throws: SnapfleetError(.invalidConfiguration, "socket path '\(path)' must be absolute and shorter than 100 bytes")
        ) {
            try Sockets.localRouter(context, path: path)
        }
    }

    @Test("CURVE sockets refuse any endpoint that is not TCP", arguments: ["ipc:///tmp/snapfleet.sock", "inproc://x", "tcp://", "127.0.0.1:7461"])
    func curveNeedsTCP(endpoint: String) throws {
        let context = try ZMQContext()
        let keys = try CurveKeyPair.generate()
        let expected = SnapfleetError(.invalidConfiguration, "endpoint '\(endpoint)' must be tcp://HOST:PORT")
        #expect(throws: expected) {
            try Sockets.curveDealer(context, keys: keys, serverKey: keys.publicKey, endpoint: endpoint)
        }
        let zap = try ZAPHandler(context: context, logger: quietLogger) { _ in false }
        defer { zap.stop() }
        #expect(throws: expected) {
            try Sockets.curveRouter(context, keys: keys, endpoint: endpoint, zapHandler: zap)
        }
    }

    @Test("a TCP port in use is reported as an io_error naming the endpoint")
    func portInUse() throws {
        let keys = try CurveKeyPair.generate()
        let context = try ZMQContext()
        let zap = try ZAPHandler(context: context, logger: quietLogger) { _ in false }
        defer { zap.stop() }
        let (first, endpoint) = try bindOnFreePort { endpoint throws(SnapfleetError) in
            try Sockets.curveRouter(context, keys: keys, endpoint: endpoint, zapHandler: zap)
        }
        defer { first.close() }
        let error = try #require(throws: SnapfleetError.self) {
            try Sockets.curveRouter(context, keys: keys, endpoint: endpoint, zapHandler: zap)
        }
        #expect(error.code == .ioError)
        #expect(error.message == "zmq bind \(endpoint) failed: address already in use")
    }
}
