import AgentCore
import Foundation
import Messaging
import SnapfleetConfig
import SnapfleetCore
import Testing

@Suite("AgentConfig: required keys, defaults, and a conninfo that is never shown")
struct AgentConfigTests {
    let file = "/etc/snapfleet/agent.yaml"
    let controllerKey = "HelloWorldHelloWorldHelloWorldHelloWorld"
    let conninfo = "host=/var/run/postgresql dbname=postgres password=s3cr3t-Passw0rd"

    var minimal: String {
        """
        controller: "tcp://10.0.0.5:7461"
        controller_public_key: "\(controllerKey)"
        key_file: /etc/snapfleet/agent.key
        postgres: "\(conninfo)"
        """
    }

    func decode(_ yaml: String) throws(SnapfleetError) -> AgentConfig {
        try ConfigLoader.decode(AgentConfig.self, yaml: yaml, path: file)
    }

    @Test("the required keys decode; server and facts_interval_seconds have their defaults")
    func defaults() throws {
        let config = try decode(minimal)
        #expect(config.controller == "tcp://10.0.0.5:7461")
        #expect(config.controllerPublicKey == (try CurvePublicKey(z85: controllerKey)))
        #expect(config.keyFile == "/etc/snapfleet/agent.key")
        #expect(config.postgres.value == conninfo)
        #expect(config.server == nil)
        #expect(config.factsIntervalSeconds == 30)
        try config.validate()
    }

    @Test("the example agent configuration in agent/deploy loads and validates")
    func exampleAgent() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../agent/deploy/agent.yaml")
        let config = try ConfigLoader.load(AgentConfig.self, from: path.standardizedFileURL.path)
        #expect(config.server == "orders-1")
        #expect(!config.allowMount)
    }

    @Test("server and facts_interval_seconds can be given")
    func optionalValues() throws {
        let config = try decode(minimal + "\nserver: pg1\nfacts_interval_seconds: 5\n")
        #expect(config.server == "pg1")
        #expect(config.factsIntervalSeconds == 5)
        try config.validate()
    }

    @Test("the postgres conninfo never appears in the configuration's printed forms")
    func conninfoNotPrinted() throws {
        let config = try decode(minimal)
        for text in ["\(config)", String(describing: config), String(reflecting: config), "\(config.postgres)"] {
            #expect(!text.contains("s3cr3t"))
            #expect(!text.contains(conninfo))
        }
        #expect(String(describing: config).contains("<redacted>"))
    }

    @Test("the postgres conninfo is not reachable by reflection (dump)")
    func conninfoNotDumped() throws {
        let config = try decode(minimal)
        var dumped = ""
        dump(config, to: &dumped)
        #expect(!dumped.contains("s3cr3t"))
    }

    @Test("a missing required key is named", arguments: ["controller", "controller_public_key", "key_file", "postgres"])
    func missingKey(key: String) {
        let yaml = minimal.split(separator: "\n").filter { !$0.hasPrefix("\(key):") }.joined(separator: "\n")
        #expect(throws: SnapfleetError(.invalidConfiguration, "\(file): missing key '\(key)'")) { try decode(yaml) }
    }

    @Test("a bad controller_public_key names the key and says what a key must be")
    func badControllerKey() {
        let yaml = minimal.replacingOccurrences(of: controllerKey, with: "tooShort")
        #expect(
            throws: SnapfleetError(
                .invalidConfiguration, "\(file): 'controller_public_key': a CURVE key must be 40 characters of Z85 text")
        ) {
            try decode(yaml)
        }
    }

    @Test("a wrongly typed postgres value does not echo the conninfo")
    func wrongTypeDoesNotEcho() {
        let yaml = minimal.replacingOccurrences(of: "postgres: \"\(conninfo)\"", with: "postgres:\n  password: s3cr3t")
        let error = #expect(throws: SnapfleetError.self) { try decode(yaml) }
        #expect(error?.message.hasPrefix("\(file): 'postgres' must be ") == true)
        #expect(error?.message.hasSuffix("must be an object") == false, "postgres is an object here; it must be a string")
        #expect(error.map { !"\($0)".contains("s3cr3t") } == true)
    }

    @Test("an unknown key is refused")
    func unknownKey() {
        #expect(
            throws: SnapfleetError(
                .invalidConfiguration, "\(file): unknown key 'facts_interval'", hint: "check its spelling against the documentation")
        ) {
            try decode(minimal + "\nfacts_interval: 5\n")
        }
    }

    @Test("validate names the key at fault")
    func validation() throws {
        var config = try decode(minimal)
        config.controller = "ipc:///run/snapfleet.sock"
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'controller' must be tcp://HOST:PORT", hint: "e.g. tcp://127.0.0.1:7461")) {
            try config.validate()
        }

        config = try decode(minimal)
        config.keyFile = "agent.key"
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'key_file' must be an absolute path")) { try config.validate() }

        for interval in [0, 3601] {
            config = try decode(minimal)
            config.factsIntervalSeconds = interval
            #expect(throws: SnapfleetError(.invalidConfiguration, "key 'facts_interval_seconds' must be between 1 and 3600")) {
                try config.validate()
            }
        }

        config = try decode(minimal)
        config.postgres = Redacted("")
        let empty = #expect(throws: SnapfleetError.self) { try config.validate() }
        #expect(empty?.message == "key 'postgres' must not be empty")
        #expect(empty?.hint == "a libpq conninfo such as 'host=/var/run/postgresql dbname=postgres'")

        config = try decode(minimal)
        config.server = "-pg1"
        let badServer = #expect(throws: SnapfleetError.self) { try config.validate() }
        #expect(badServer?.code == .invalidConfiguration)
        #expect(badServer?.message.hasPrefix("key 'server' ") == true)
        #expect(badServer?.message.contains("1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit") == true)
    }
}
