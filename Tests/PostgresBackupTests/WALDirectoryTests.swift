import Foundation
import TestSupport
import Testing

@testable import PostgresBackup

@Suite("WALDirectory")
struct WALDirectoryTests {
    @Test("resolves a symlinked pg_wal to its real path")
    func realPath() throws {
        let directory = try TemporaryDirectory(prefix: "waldir")
        try FileManager.default.createDirectory(atPath: directory.file("data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.file("real/wal"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.file("link"), withDestinationPath: directory.file("real"))
        try FileManager.default.createSymbolicLink(atPath: directory.file("data/pg_wal"), withDestinationPath: directory.file("link/wal"))
        #expect(WALDirectory.resolve(dataDirectory: directory.file("data")) == directory.file("real/wal"))
    }

    @Test("falls back to the symlink's target when the target cannot be resolved, and to nil without a link")
    func fallbacks() throws {
        let directory = try TemporaryDirectory(prefix: "waldir")
        try FileManager.default.createDirectory(atPath: directory.file("data"), withIntermediateDirectories: true)
        #expect(WALDirectory.resolve(dataDirectory: directory.file("data")) == nil)
        try FileManager.default.createSymbolicLink(atPath: directory.file("data/pg_wal"), withDestinationPath: "/nonexistent/wal")
        #expect(WALDirectory.resolve(dataDirectory: directory.file("data")) == "/nonexistent/wal")
        try FileManager.default.removeItem(atPath: directory.file("data/pg_wal"))
        try FileManager.default.createSymbolicLink(atPath: directory.file("data/pg_wal"), withDestinationPath: "../gone")
        #expect(WALDirectory.resolve(dataDirectory: directory.file("data")) == directory.file("data") + "/../gone")
    }
}
