import ControllerCore
import Foundation
import Messaging
import SnapfleetConfig
import SnapfleetCore
import Testing

@Suite("ControllerConfig: documented defaults, and errors that name the key")
struct ControllerConfigTests {
    let file = "/etc/snapfleet/controller.yaml"
    let agentKey = "HelloWorldHelloWorldHelloWorldHelloWorld"

    func decode(_ yaml: String) throws(SnapfleetError) -> ControllerConfig {
        try ConfigLoader.decode(ControllerConfig.self, yaml: yaml, path: file)
    }

    /// A minimal file: the key file and one server.
    var minimal: String {
        """
        key_file: /etc/snapfleet/controller.key
        servers:
          pg1:
            agent_key: "\(agentKey)"
        """
    }

    @Test("only key_file is required; listen, admin_socket and heartbeat_interval_ms have their defaults")
    func defaults() throws {
        let config = try decode(minimal)
        #expect(config.listen == "tcp://127.0.0.1:7461")
        #expect(config.listen == ControllerConfig.defaultListen)
        #expect(config.adminSocket == "/run/snapfleet/admin.sock")
        #expect(config.adminSocket == ControllerConfig.defaultAdminSocket)
        #expect(config.heartbeatIntervalMs == 5000)
        #expect(config.keyFile == "/etc/snapfleet/controller.key")
        #expect(config.servers == ["pg1": ServerConfig(agentKey: try CurvePublicKey(z85: agentKey))])
        try config.validate()

        let bare = try decode("key_file: /k\n")
        #expect(bare.servers.isEmpty)
    }

    @Test("every setting can be given")
    func explicitValues() throws {
        let config = try decode(
            """
            listen: "tcp://0.0.0.0:9000"
            key_file: /k
            admin_socket: /tmp/admin.sock
            heartbeat_interval_ms: 250
            servers:
              pg1: {agent_key: "\(agentKey)"}
            """)
        #expect(
            config
                == ControllerConfig(
                    listen: "tcp://0.0.0.0:9000", keyFile: "/k", adminSocket: "/tmp/admin.sock", heartbeatIntervalMs: 250, servers: config.servers))
        try config.validate()
    }

    @Test("shutdown_timeout_seconds defaults to 300 and is bounded")
    func shutdownTimeout() throws {
        #expect(try decode(minimal).shutdownTimeoutSeconds == 300)
        #expect(try decode("shutdown_timeout_seconds: 0\n" + minimal).shutdownTimeoutSeconds == 0)
        #expect(throws: SnapfleetError.self) { try decode("shutdown_timeout_seconds: -1\n" + minimal).validate() }
    }

    @Test("a reload may change servers and limits, not the sockets, the key or the heartbeat")
    func reloadBlocker() throws {
        let running = try decode(minimal)
        #expect(running.reloadBlocker(try decode("max_concurrent_backups: 9\ntime_zone: Europe/Paris\n" + minimal)) == nil)
        #expect(running.reloadBlocker(try decode("key_file: /k\n")) == "key_file changed: that takes a restart of the controller")
        let moved = try decode("listen: tcp://127.0.0.1:9000\nadmin_socket: /run/x.sock\n" + minimal)
        #expect(running.reloadBlocker(moved) == "listen, admin_socket changed: that takes a restart of the controller")
    }

    @Test("the example fleet configuration in controller/deploy loads and validates")
    func exampleFleet() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../controller/deploy/fleet.yaml")
        let config = try ConfigLoader.load(ControllerConfig.self, from: path.standardizedFileURL.path)
        #expect(config.servers.keys.sorted() == ["orders-1", "orders-2", "reporting"])
        #expect(config.servers.values.allSatisfy { $0.schedule != nil && $0.retentionPolicy != nil })
        #expect(config.metricsListen == "127.0.0.1:9464")
    }

    @Test("a missing key_file is named")
    func missingKeyFile() {
        #expect(throws: SnapfleetError(.invalidConfiguration, "\(file): missing key 'key_file'")) { try decode("servers: {}\n") }
    }

    @Test("a bad agent key names servers.pg1.agent_key and says what a key must be")
    func badAgentKey() {
        let yaml = "key_file: /k\nservers:\n  pg1:\n    agent_key: not-a-key\n"
        #expect(
            throws: SnapfleetError(
                .invalidConfiguration, "\(file): 'servers.pg1.agent_key': a CURVE key must be 40 characters of Z85 text")
        ) {
            try decode(yaml)
        }
    }

    @Test("a misspelled agent_key is reported as the missing agent_key, with a did-you-mean hint")
    func misspelledAgentKey() {
        let yaml = "key_file: /k\nservers:\n  pg1:\n    agent_kye: \"\(agentKey)\"\n"
        #expect(
            throws: SnapfleetError(
                .invalidConfiguration, "\(file): missing key 'servers.pg1.agent_key'", hint: "found 'agent_kye': did you mean 'agent_key'?")
        ) {
            try decode(yaml)
        }
    }

    @Test("an unknown key next to a valid one is refused")
    func unknownServerKey() {
        let yaml = minimal + "\n    agent_kye: x\n"
        #expect(
            throws: SnapfleetError(
                .invalidConfiguration, "\(file): unknown key 'servers.pg1.agent_kye'", hint: "check its spelling against the documentation")
        ) {
            try decode(yaml)
        }
    }

    @Test(
        "listen must be a TCP endpoint",
        arguments: ["ipc:///run/snapfleet/agents.sock", "127.0.0.1:7461", "tcp://127.0.0.1", "tcp://:7461", "tcp://host:port"])
    func listenNotTCP(listen: String) throws {
        let config = try decode("listen: \"\(listen)\"\n" + minimal)
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'listen' must be tcp://HOST:PORT", hint: "e.g. tcp://127.0.0.1:7461")) {
            try config.validate()
        }
    }

    @Test("the catalog cache: XDG_CACHE_HOME, then HOME, by default; a configured path; \"\" turns it off; a relative path is refused")
    func cacheDirectory() throws {
        let config = try decode(minimal)
        #expect(config.resolvedCacheDirectory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/home/s"]) == "/x/snapfleet")
        #expect(config.resolvedCacheDirectory(environment: ["HOME": "/home/s"]) == "/home/s/.cache/snapfleet")
        #expect(config.resolvedCacheDirectory(environment: ["HOME": "/"]) == nil, "no home, no cache")
        #expect(config.resolvedCacheDirectory(environment: [:]) == nil)
        let configured = try decode("cache_directory: /var/cache/snapfleet\n" + minimal)
        #expect(configured.resolvedCacheDirectory(environment: ["HOME": "/home/s"]) == "/var/cache/snapfleet")
        let off = try decode("cache_directory: \"\"\n" + minimal)
        #expect(off.resolvedCacheDirectory(environment: ["HOME": "/home/s"]) == nil)
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'cache_directory' must be an absolute path")) {
            try decode("cache_directory: cache\n" + minimal).validate()
        }
    }

    @Test("paths must be absolute and the heartbeat interval within range")
    func pathsAndRanges() throws {
        var config = try decode(minimal)
        config.keyFile = "controller.key"
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'key_file' must be an absolute path")) { try config.validate() }
        config = try decode(minimal)
        config.adminSocket = "admin.sock"
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'admin_socket' must be an absolute path")) { try config.validate() }
        for interval in [99, 600_001, 0, -5] {
            config = try decode(minimal)
            config.heartbeatIntervalMs = interval
            #expect(throws: SnapfleetError(.invalidConfiguration, "key 'heartbeat_interval_ms' must be between 100 and 600000")) {
                try config.validate()
            }
        }
    }

    @Test("fleet settings: time_zone UTC, max_concurrent_backups 4 and the monitoring limits by default; each can be set")
    func fleetDefaults() throws {
        let config = try decode(minimal)
        #expect(config.timeZone == "UTC" && config.maxConcurrentBackups == 4 && config.monitoring == MonitoringThresholds())
        let set = try decode(
            minimal + "\ntime_zone: Europe/Paris\nmax_concurrent_backups: 16\n"
                + "monitoring: {backup_age_warning_hours: 8, backup_age_critical_hours: 12}\n")
        #expect(set.scheduleTimeZone.identifier == "Europe/Paris" && set.maxConcurrentBackups == 16)
        #expect(set.monitoring.backupAgeWarningHours == 8 && set.monitoring.backupAgeCriticalHours == 12 && set.monitoring.walLagWarningMinutes == 30)
    }

    @Test(
        "bad schedules, names, zones and limits are refused, naming the key",
        arguments: [
            ("time_zone: Mars/Olympus", "", "time_zone"),
            ("max_concurrent_backups: 0", "", "max_concurrent_backups"),
            ("monitoring: {agent_away_warning_minutes: 40, agent_away_critical_minutes: 30}", "", "monitoring.agent_away_critical_minutes"),
            ("", "schedule: \"61 * * * *\"", "servers.pg1.schedule"),
            ("", "schedule: \"@daily\"", "servers.pg1.schedule"),
            ("", "backup_name: \"nightly-{day}\"", "servers.pg1.backup_name"),
            ("", "backup_name: \"nightly-{date\"", "servers.pg1.backup_name"),
        ])
    func fleetSettingsRefused(topLevel: String, server: String, key: String) throws {
        let yaml = "key_file: /k\n\(topLevel)\nservers:\n  pg1:\n    agent_key: \"\(agentKey)\"\n" + (server.isEmpty ? "" : "    \(server)\n")
        let error = try #require(throws: SnapfleetError.self) { try decode(yaml).validate() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.hasPrefix("key '\(key)'"), "\(error.message)")
    }

    @Test("a bad server name is refused, naming it", arguments: ["-pg1", "pg 1", "_pg1", String(repeating: "p", count: 65), "pg/1"])
    func badServerName(name: String) throws {
        let config = try decode("key_file: /k\nservers:\n  \"\(name)\":\n    agent_key: \"\(agentKey)\"\n")
        let error = try #require(throws: SnapfleetError.self) { try config.validate() }
        #expect(error.code == .invalidConfiguration)
        #expect(
            error.message
                == "key 'servers.\(name)' is not a valid server name: server must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit"
        )
    }

    @Test("serversByKey groups the servers each agent key may speak for")
    func serversByKey() throws {
        let other = try CurveKeyPair.generate().publicKey
        let config = try decode(
            """
            key_file: /k
            servers:
              pg1: {agent_key: "\(agentKey)"}
              pg2: {agent_key: "\(agentKey)"}
              pg3: {agent_key: "\(other.z85)"}
            """)
        #expect(config.serversByKey == [try CurvePublicKey(z85: agentKey): ["pg1", "pg2"], other: ["pg3"]])
    }
}
