import Foundation
import SnapfleetConfig
import SnapfleetCore
import Testing

/// A small configuration shaped like the real ones: scalars, a map of groups, a list of groups.
struct FleetConfig: ValidatableConfig, Equatable {
    var name: String
    var port: Int
    var servers: [String: Server]
    var listeners: [Listener]?

    struct Server: Codable, Equatable {
        var agentKey: String?
        var weight: Int

        enum CodingKeys: String, CodingKey {
            case agentKey = "agent_key"
            case weight
        }
    }

    struct Listener: Codable, Equatable {
        var host: String
        var port: Int
    }

    enum CodingKeys: String, CodingKey {
        case name, port, servers, listeners
    }

    func validate() throws(SnapfleetError) {
        try ConfigCheck.range(port, 1...65535, key: "port")
        for (name, server) in servers.sorted(by: { $0.key < $1.key }) where server.weight < 0 {
            throw ConfigCheck.invalid("servers.\(name).weight", "must not be negative", hint: "use 0 to disable a server")
        }
    }
}

@Suite("ConfigLoader: strict YAML, one line naming the file and the key")
struct ConfigLoaderTests {
    let file = "/etc/snapfleet/fleet.yaml"

    let valid = """
        name: prod
        port: 7461
        servers:
          pg1:
            agent_key: abc
            weight: 1
          pg2:
            weight: 2
        listeners:
          - host: 127.0.0.1
            port: 1
        """

    /// The error that decoding `yaml` throws.
    func decodeError(_ yaml: String) throws -> SnapfleetError {
        try #require(throws: SnapfleetError.self) { try ConfigLoader.decode(FleetConfig.self, yaml: yaml, path: file) }
    }

    /// A file with `text` in a fresh temporary directory (removed afterwards by the caller's `directory`).
    func temporaryFile(_ text: String, bytes: [UInt8]? = nil) throws -> (directory: String, path: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snapfleet-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/fleet.yaml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes ?? Array(text.utf8))))
        return (directory, path)
    }

    @Test("one string setting is read on its own: present, absent, or a clear error naming the file and key")
    func readsOneString() throws {
        let (directory, path) = try temporaryFile(valid)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try ConfigLoader.string("name", from: path) == "prod")
        #expect(try ConfigLoader.string("local_socket", from: path) == nil)
        let wrongType = #expect(throws: SnapfleetError.self) { try ConfigLoader.string("servers", from: path) }
        #expect(wrongType?.message == "\(path): key 'servers': expected a non-empty string")
        let (brokenDirectory, broken) = try temporaryFile("name: [unclosed")
        defer { try? FileManager.default.removeItem(atPath: brokenDirectory) }
        let invalid = #expect(throws: SnapfleetError.self) { try ConfigLoader.string("name", from: broken) }
        #expect(invalid?.code == .invalidConfiguration && invalid?.message.hasPrefix("\(broken): invalid YAML") == true)
    }

    @Test("a valid document decodes to the expected value")
    func decodesValid() throws {
        let config = try ConfigLoader.decode(FleetConfig.self, yaml: valid, path: file)
        #expect(config.name == "prod")
        #expect(config.port == 7461)
        #expect(config.servers == ["pg1": .init(agentKey: "abc", weight: 1), "pg2": .init(agentKey: nil, weight: 2)])
        #expect(config.listeners == [.init(host: "127.0.0.1", port: 1)])
    }

    @Test("an unknown top-level key is refused, with a hint")
    func unknownTopLevelKey() throws {
        let error = try decodeError(valid + "\nprot: 1\n")
        #expect(error.code == .invalidConfiguration)
        #expect(error.message == "\(file): unknown key 'prot'")
        #expect(error.hint == "check its spelling against the documentation")
    }

    @Test("a misspelled optional key inside a map is named by its full path")
    func unknownNestedKey() throws {
        let yaml = """
            name: prod
            port: 7461
            servers:
              pg1:
                agent_kye: abc
                weight: 1
            """
        let error = try decodeError(yaml)
        #expect(
            error
                == SnapfleetError(
                    .invalidConfiguration, "\(file): unknown key 'servers.pg1.agent_kye'", hint: "check its spelling against the documentation"))
    }

    @Test("an unknown key inside a list item is named with its index")
    func unknownKeyInList() throws {
        let error = try decodeError(valid + "\n  - host: 127.0.0.2\n    port: 2\n    hots: x\n")
        #expect(error.message == "\(file): unknown key 'listeners[1].hots'")
        #expect(error.code == .invalidConfiguration)
    }

    @Test("a missing key is named, at the top level and nested")
    func missingKey() throws {
        #expect(try decodeError("name: prod\nservers: {}\n") == SnapfleetError(.invalidConfiguration, "\(file): missing key 'port'"))
        let nested = "name: prod\nport: 1\nservers:\n  pg1:\n    agent_key: abc\n"
        #expect(try decodeError(nested) == SnapfleetError(.invalidConfiguration, "\(file): missing key 'servers.pg1.weight'"))
    }

    @Test("a missing key with a near miss beside it gets a did-you-mean hint")
    func didYouMean() throws {
        #expect(
            try decodeError("name: prod\nprot: 1\nservers: {}\n")
                == SnapfleetError(.invalidConfiguration, "\(file): missing key 'port'", hint: "found 'prot': did you mean 'port'?"))
        #expect(
            try decodeError("name: prod\nport: 1\nservers:\n  pg1:\n    wieght: 1\n")
                == SnapfleetError(.invalidConfiguration, "\(file): missing key 'servers.pg1.weight'", hint: "found 'wieght': did you mean 'weight'?"))
        #expect(
            try decodeError("name: prod\nport: 1\nservers: {}\nlisteners:\n  - host: a\n    prt: 1\n")
                == SnapfleetError(.invalidConfiguration, "\(file): missing key 'listeners[0].port'", hint: "found 'prt': did you mean 'port'?"))
        #expect(try decodeError("name: prod\nservers: {}\nlistening: 1\n").hint == nil, "no hint for a key that is not near")
    }

    @Test("a value of the wrong type is named with the type expected")
    func wrongType() throws {
        #expect(
            try decodeError("name: prod\nport: seven\nservers: {}\n")
                == SnapfleetError(.invalidConfiguration, "\(file): 'port' must be an integer"))
        #expect(
            try decodeError("name: prod\nport: 1\nservers: [pg1, pg2]\n")
                == SnapfleetError(.invalidConfiguration, "\(file): 'servers' must be an object"))
        #expect(
            try decodeError("name: prod\nport: 1\nservers:\n  pg1:\n    weight: heavy\n")
                == SnapfleetError(.invalidConfiguration, "\(file): 'servers.pg1.weight' must be an integer"))
    }

    @Test("a list or a mapping where a single value belongs is named, and not called 'an object'")
    func collectionForScalar() throws {
        // Yams reports only "a scalar was expected" here, so the message cannot name the Swift type;
        // it must still not tell the operator the opposite of the truth.
        for (yaml, key) in [("name: prod\nport: [1, 2]\nservers: {}\n", "port"), ("name: {first: prod}\nport: 1\nservers: {}\n", "name")] {
            let error = try decodeError(yaml)
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.hasPrefix("\(file): '\(key)' must be "))
            #expect(!error.message.hasSuffix("must be an object"), "\(error.message)")
        }
    }

    @Test("a mapping or a single value where a list belongs is named as a list")
    func scalarForList() throws {
        #expect(
            try decodeError("name: prod\nport: 1\nservers: {}\nlisteners: {host: a, port: 1}\n")
                == SnapfleetError(.invalidConfiguration, "\(file): 'listeners' must be a list"))
        #expect(
            try decodeError("name: prod\nport: 1\nservers: {}\nlisteners: one\n")
                == SnapfleetError(.invalidConfiguration, "\(file): 'listeners' must be a list"))
    }

    @Test("text that is not YAML is refused as invalid YAML, in one line")
    func invalidYAML() throws {
        let error = try decodeError("name: prod\nservers: [unclosed\nport: 1\n")
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.hasPrefix("\(file): invalid YAML: "))
        #expect(!error.message.contains("\n"))
    }

    @Test(
        "a document that is not a mapping is refused",
        arguments: ["- name: prod\n- port: 1\n", "just a string\n", "42\n", "", "# only a comment\n"])
    func notAMapping(yaml: String) throws {
        #expect(try decodeError(yaml) == SnapfleetError(.invalidConfiguration, "\(file): expected a mapping of settings at the top level"))
    }

    @Test("an optional key left empty counts as absent, not as unknown")
    func emptyOptionalKey() throws {
        let yaml = "name: prod\nport: 1\nservers:\n  pg1:\n    agent_key:\n    weight: 1\nlisteners: ~\n"
        let config = try ConfigLoader.decode(FleetConfig.self, yaml: yaml, path: file)
        #expect(config.servers["pg1"]?.agentKey == nil)
        #expect(config.listeners == nil)
    }

    @Test("load reads, decodes and validates a file")
    func loadValid() throws {
        let (directory, path) = try temporaryFile(valid)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try ConfigLoader.load(FleetConfig.self, from: path).port == 7461)
    }

    @Test("a validation error is prefixed by the file name and keeps its hint")
    func validationErrorNamesFile() throws {
        let (directory, path) = try temporaryFile(valid.replacingOccurrences(of: "weight: 2", with: "weight: -1"))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(
            throws: SnapfleetError(.invalidConfiguration, "\(path): key 'servers.pg2.weight' must not be negative", hint: "use 0 to disable a server")
        ) {
            try ConfigLoader.load(FleetConfig.self, from: path)
        }

        let (other, portPath) = try temporaryFile(valid.replacingOccurrences(of: "port: 7461", with: "port: 70000"))
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(throws: SnapfleetError(.invalidConfiguration, "\(portPath): key 'port' must be between 1 and 65535")) {
            try ConfigLoader.load(FleetConfig.self, from: portPath)
        }
    }

    @Test("decoding errors from load also name the file")
    func loadDecodeErrorNamesFile() throws {
        let (directory, path) = try temporaryFile(valid + "\nprot: 1\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = try #require(throws: SnapfleetError.self) { try ConfigLoader.load(FleetConfig.self, from: path) }
        #expect(error.message == "\(path): unknown key 'prot'")
    }

    @Test("a missing file says so")
    func missingFile() throws {
        let path = "/nonexistent/snapfleet/fleet.yaml"
        #expect(throws: SnapfleetError(.invalidConfiguration, "\(path): cannot read configuration file: no such file or directory")) {
            try ConfigLoader.load(FleetConfig.self, from: path)
        }
    }

    @Test("a directory given as the file says it is a directory")
    func directoryAsFile() throws {
        let (directory, _) = try temporaryFile(valid)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: SnapfleetError(.invalidConfiguration, "\(directory): cannot read configuration file: is a directory")) {
            try ConfigLoader.load(FleetConfig.self, from: directory)
        }
    }

    @Test("a file that is not UTF-8 is refused")
    func notUTF8() throws {
        let (directory, path) = try temporaryFile("", bytes: [0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: SnapfleetError(.invalidConfiguration, "\(path): cannot read configuration file: not UTF-8 text")) {
            try ConfigLoader.load(FleetConfig.self, from: path)
        }
    }

    @Test("a file larger than one read buffer is read whole")
    func largeFile() throws {
        let padding = (0..<4000).map { "# padding line \($0) of a long comment block\n" }.joined()
        let (directory, path) = try temporaryFile(padding + valid)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try ConfigLoader.load(FleetConfig.self, from: path).servers.count == 2)
    }
}
