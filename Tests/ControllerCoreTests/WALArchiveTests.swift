import ControllerCore
import Foundation
import Messaging
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

@Suite("check-wal-archive: barman-cloud's rule for an archive a new server may use")
struct WALArchiveCheckTests {
    func config(_ destination: String) throws -> ControllerConfig {
        try ControllerConfig(
            keyFile: "/k",
            servers: ["pg1": ServerConfig(agentKey: CurvePublicKey(z85: "HelloWorldHelloWorldHelloWorldHelloWorld"), destination: destination)])
    }

    @Test("empty archive: usable; with files: not, unless every file is of an older timeline than the one given")
    func verdicts() throws {
        let root = try TemporaryDirectory(prefix: "wal-check")
        let config = try config("file://\(root.path)")
        #expect(try WALArchiveCheck.run(config: config, server: "pg1", timeline: nil).usable)
        let directory = root.file("pg1/wals/0000000200000000")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/000000020000000000000003.zst"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: root.file("pg1/wals/junk.txt")))
        let notEmpty = try WALArchiveCheck.run(config: config, server: "pg1", timeline: nil)
        #expect(!notEmpty.usable)
        #expect(notEmpty.message == "WAL archive check failed for server pg1: Expected empty archive (found 1 files)", "junk is ignored")
        #expect(try WALArchiveCheck.run(config: config, server: "pg1", timeline: 3).usable)
        let same = try WALArchiveCheck.run(config: config, server: "pg1", timeline: 2)
        #expect(same.message == "WAL archive check failed for server pg1: Found 1 file in WAL archive equal to or newer than timeline 2")
        #expect(throws: SnapfleetError.self) { try WALArchiveCheck.run(config: config, server: "pg9", timeline: nil) }
    }
}
