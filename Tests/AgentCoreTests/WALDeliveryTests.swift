import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import AgentCore

@Suite("WALDelivery: the agent writes a fetched WAL file only into a PostgreSQL data directory's pg_wal")
struct WALDeliveryTests {
    /// A directory shaped like a data directory: PG_VERSION and pg_wal.
    func dataDirectory() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "pgdata")
        try Data("15\n".utf8).write(to: URL(fileURLWithPath: directory.file("PG_VERSION")))
        try FileManager.default.createDirectory(atPath: directory.file("pg_wal"), withIntermediateDirectories: false)
        return directory
    }

    @Test("a file of pg_wal is written in place, by rename, with exactly the bytes")
    func writesInPgWal() throws {
        let data = try dataDirectory()
        let destination = data.file("pg_wal/RECOVERYXLOG")
        #expect(WALDelivery.directory(of: destination) == data.file("pg_wal"))
        try WALDelivery.write(Array("segment bytes".utf8), to: destination)
        #expect(try String(contentsOfFile: destination, encoding: .utf8) == "segment bytes")
        try WALDelivery.write(Array("again".utf8), to: destination)
        #expect(try String(contentsOfFile: destination, encoding: .utf8) == "again", "an earlier RECOVERYXLOG is replaced")
        #expect(try FileManager.default.contentsOfDirectory(atPath: data.file("pg_wal")) == ["RECOVERYXLOG"], "no temporary file is left")
    }

    @Test("anything but a plain file name directly in a data directory's pg_wal is left to the client")
    func refusesOtherPlaces() throws {
        let data = try dataDirectory()
        try FileManager.default.createDirectory(atPath: data.file("other"), withIntermediateDirectories: false)
        let elsewhere = try TemporaryDirectory(prefix: "not-pgdata")
        try FileManager.default.createDirectory(atPath: elsewhere.file("pg_wal"), withIntermediateDirectories: false)
        for destination in [
            data.file("other/RECOVERYXLOG"), data.file("RECOVERYXLOG"), elsewhere.file("pg_wal/RECOVERYXLOG"), data.file("pg_wal/.hidden"),
            data.file("pg_wal/bad name"),
        ] {
            #expect(WALDelivery.directory(of: destination) == nil, "\(destination)")
        }
        #expect(throws: SnapfleetError.self) { try WALDelivery.write([1], to: elsewhere.file("pg_wal/RECOVERYXLOG")) }
    }
}
