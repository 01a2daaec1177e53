import Foundation
import TestSupport
import Testing

/// Bad configuration ends both programs with one line naming the file and the key, and status 2.
@Suite("configuration errors", .requires(BuiltProducts.exists("snapfleet-agent"), "run swift build first"))
struct ConfigurationErrorTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory(prefix: "config") }

    private func run(_ program: String, _ arguments: [String]) throws -> ProcessOutput {
        try Shell.run([BuiltProducts.path(program)] + arguments)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = directory.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("an unknown key is refused with exit status 2, naming the file and the key")
    func unknownKey() throws {
        let config = try write("c.yaml", "key_file: /tmp/x.key\nservers:\n  pg1:\n    agent_kye: abc\n")
        let output = try run("snapfleet-controller", ["serve", "--config", config])
        #expect(output.status == 2)
        #expect(output.stderr.contains("\(config): "))
        #expect(output.stderr.contains("agent_key") && output.stderr.contains("agent_kye"))
        #expect(output.stderr.split(separator: "\n").count == 1, "one line: \(output.stderr)")
    }

    @Test("an unknown top-level key of the agent is refused")
    func unknownAgentKey() throws {
        let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
        let config = try write(
            "a.yaml", "controller: tcp://127.0.0.1:1\ncontroller_public_key: \"\(key)\"\nkey_file: /x.key\npostgres: \"host=/tmp\"\ncontroler: x\n")
        let output = try run("snapfleet-agent", ["check", "--config", config])
        #expect(output.status == 2)
        #expect(output.stderr.contains("\(config): unknown key 'controler'"))
    }

    @Test("wal-push and wal-fetch end with status 2 on a configuration they cannot read, naming the file and the key")
    func walCommandsBadConfiguration() throws {
        let wrongType = try write("w.yaml", "local_socket: [not, a, path]\n")
        let push = try run("snapfleet-agent", ["wal-push", "--config", wrongType, "pg_wal/000000010000000000000001"])
        #expect(push.status == 2)
        #expect(push.stderr.contains("\(wrongType): key 'local_socket'"))
        let missing = directory.file("absent.yaml")
        let fetch = try run("snapfleet-agent", ["wal-fetch", "--config", missing, "000000010000000000000001", "pg_wal/RECOVERYXLOG"])
        #expect(fetch.status == 2)
        #expect(fetch.stderr.contains(missing))
    }

    @Test("a missing key file is refused with exit status 2, naming the key_file key")
    func missingKeyFile() throws {
        let config = try write(
            "c.yaml",
            "listen: tcp://127.0.0.1:\(freeTCPPort())\nkey_file: \(directory.file("missing.key"))\nadmin_socket: \(directory.file("admin.sock"))\n")
        let output = try run("snapfleet-controller", ["serve", "--config", config])
        #expect(output.status == 2)
        #expect(output.stderr.contains("\(config): key 'key_file'"))
        #expect(output.stderr.contains("missing.key"))
    }

    @Test("a malformed agent key is refused with exit status 2, naming the key")
    func badAgentKey() throws {
        let config = try write("c.yaml", "key_file: /x.key\nservers:\n  pg1:\n    agent_key: \"not-a-key\"\n")
        let output = try run("snapfleet-controller", ["agents", "--config", config])
        #expect(output.status == 2)
        #expect(output.stderr.contains("servers.pg1.agent_key"))
    }

    @Test("an unreadable configuration file is refused with exit status 2")
    func unreadableFile() throws {
        let output = try run("snapfleet-controller", ["serve", "--config", directory.file("nope.yaml")])
        #expect(output.status == 2)
        #expect(output.stderr.contains("nope.yaml: cannot read configuration file: no such file or directory"))
    }

    @Test("a key file readable by others is refused")
    func looseKeyFile() throws {
        let keyPath = directory.file("loose.key")
        _ = try run("snapfleet-controller", ["keygen", "--out", keyPath])
        chmod(keyPath, 0o644)
        let config = try write(
            "c.yaml", "listen: tcp://127.0.0.1:\(freeTCPPort())\nkey_file: \(keyPath)\nadmin_socket: \(directory.file("admin.sock"))\n")
        let output = try run("snapfleet-controller", ["serve", "--config", config])
        #expect(output.status == 2)
        #expect(output.stderr.contains("readable by group or others"))
    }

    @Test("keygen writes a 0600 file, prints the public key and never overwrites")
    func keygen() throws {
        let keyPath = directory.file("new.key")
        let first = try run("snapfleet-agent", ["keygen", "--out", keyPath])
        #expect(first.status == 0)
        #expect(first.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count == 40)
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try run("snapfleet-agent", ["keygen", "--out", keyPath])
        #expect(again.status != 0)
        #expect(again.stderr.contains("file exists"))
    }

    @Test("agents without a running controller fails with a hint")
    func agentsWithoutController() throws {
        let key = try run("snapfleet-controller", ["keygen", "--out", directory.file("c.key")])
        #expect(key.status == 0)
        let config = try write("c.yaml", "key_file: \(directory.file("c.key"))\nadmin_socket: \(directory.file("admin.sock"))\n")
        let output = try run("snapfleet-controller", ["agents", "--config", config])
        #expect(output.status == 1)
        #expect(output.stderr.contains("nothing is listening on"))
    }
}
