import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import HTTPClient

/// curl rewinds a body (through the seek callback) when it resends a request, e.g. after a
/// kept-alive connection turned out dead; a local server cannot provoke that on demand, so the
/// sources' rewinding is tested directly.
@Suite("RequestBodySource")
struct RequestBodySourceTests {
    /// Reads the whole source in 7-byte pieces.
    func drain(_ source: any RequestBodySource) throws -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 7)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if count == 0 { return output }
            output.append(contentsOf: chunk.prefix(count))
        }
    }

    @Test("a memory body reads to its end, then again from any rewound offset")
    func memoryRewind() throws {
        let bytes = Array(0..<100).map { UInt8($0) }
        for source in [MemoryBodySource(bytes: bytes), MemoryBodySource(data: Data(bytes))] {
            #expect(source.length == 100)
            #expect(try drain(source) == bytes)
            try source.rewind(to: 0)
            #expect(try drain(source) == bytes)
            try source.rewind(to: 90)
            #expect(try drain(source) == Array(bytes[90...]))
        }
    }

    @Test("a file body declares the file's size and rereads it after a rewind")
    func fileRewind() throws {
        let directory = try TemporaryDirectory(prefix: "body")
        let bytes = Array(repeating: UInt8(0x5a), count: 50) + Array(repeating: 0xa5, count: 50)
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("wal")))
        let source = try FileBodySource(path: directory.file("wal"))
        #expect(source.length == 100)
        #expect(try drain(source) == bytes)
        try source.rewind(to: 50)
        #expect(try drain(source) == Array(bytes[50...]))
    }

    @Test("a directory is refused as a file body")
    func notARegularFile() throws {
        let directory = try TemporaryDirectory(prefix: "body")
        let error = try #require(throws: SnapfleetError.self) { try FileBodySource(path: directory.path) }
        #expect(error.code == .ioError)
        #expect(error.message == "\(directory.path) is not a regular file")
    }
}
