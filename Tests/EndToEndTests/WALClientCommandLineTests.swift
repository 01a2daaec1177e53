import Foundation
import TestSupport
import Testing

/// PostgreSQL's plain calls of wal-push and wal-fetch take a short path past the argument parser;
/// every other shape still gets the parser's help and errors.
@Suite("wal-push and wal-fetch command lines", .requires(BuiltProducts.exists("snapfleet-agent"), "run swift build first"))
struct WALClientCommandLineTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory(prefix: "wal-client") }

    private func agent(_ arguments: [String]) throws -> ProcessOutput {
        try Shell.run([BuiltProducts.path("snapfleet-agent")] + arguments)
    }

    @Test("--help still shows each command's full help")
    func help() throws {
        let push = try agent(["wal-push", "--help"])
        #expect(push.status == 0 && push.stdout.contains("archive_command = 'snapfleet-agent wal-push %p'"))
        let fetch = try agent(["wal-fetch", "--config", "x.yaml", "--help"])
        #expect(fetch.status == 0 && fetch.stdout.contains("restore_command = 'snapfleet-agent wal-fetch %f %p'"))
    }

    @Test("a missing or extra argument is the parser's usage error, not a call to the agent")
    func wrongShapes() throws {
        let missing = try agent(["wal-fetch", "000000010000000000000001"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("Missing expected argument"))
        let extra = try agent(["wal-push", "pg_wal/000000010000000000000001", "extra"])
        #expect(extra.status == 64)
    }

    @Test("--config=FILE and --config FILE are both read on the short path", arguments: ["=", " "])
    func configForms(separator: String) throws {
        let config = directory.file("bad.yaml")
        try "local_socket: {not: a path}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let option = separator == "=" ? ["--config=\(config)"] : ["--config", config]
        let output = try agent(["wal-push"] + option + ["pg_wal/000000010000000000000001"])
        #expect(output.status == 2)
        #expect(output.stderr.contains("\(config): key 'local_socket'"))
    }
}
