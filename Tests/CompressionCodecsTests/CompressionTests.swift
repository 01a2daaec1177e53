import CompressionCodecs
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@Suite("Compression: gzip and zstd as barman-cloud writes and reads them")
struct CompressionTests {
    /// A WAL-like buffer: mostly zeros with some text, 1 MiB.
    static let segment: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for index in stride(from: 0, to: bytes.count, by: 8192) {
            for (offset, byte) in "record \(index)".utf8.enumerated() { bytes[index + offset] = byte }
        }
        return bytes
    }()

    @Test("each compression round-trips and shrinks a WAL-like buffer; none is the identity", arguments: Compression.allCases)
    func roundTrip(compression: Compression) throws {
        let packed = try compression.compress(Self.segment)
        #expect(try compression.decompress(packed) == Self.segment)
        if compression == .none { #expect(packed == Self.segment) } else { #expect(packed.count < Self.segment.count / 10) }
        #expect(try compression.compress(Self.segment) == packed, "the same input compresses to the same bytes")
    }

    @Test("suffixes are barman-cloud's, and keys with compressions snapfleet cannot read are recognised")
    func suffixes() {
        #expect(Compression.gzip.fileExtension == ".gz" && Compression.zstd.fileExtension == ".zst" && Compression.none.fileExtension == "")
        #expect(Compression.of(key: "wals/0000000100000000/000000010000000000000003.gz") == .gzip)
        #expect(Compression.of(key: "wals/0000000100000000/000000010000000000000003.zst") == .zstd)
        #expect(Compression.of(key: "wals/0000000100000000/000000010000000000000003") == Compression.none)
        #expect(Compression.of(key: "wals/0000000100000000/000000010000000000000003.bz2") == nil)
    }

    @Test("the system gzip and zstd tools read snapfleet's output, and snapfleet reads theirs")
    func interoperatesWithTheTools() throws {
        let directory = try TemporaryDirectory(prefix: "codecs")
        let plain = directory.file("segment")
        try Data(Self.segment).write(to: URL(fileURLWithPath: plain))
        for (compression, tool) in [(Compression.gzip, "gzip"), (.zstd, "zstd")] {
            let ours = directory.file("ours\(compression.fileExtension)")
            try Data(try compression.compress(Self.segment)).write(to: URL(fileURLWithPath: ours))
            let unpacked = directory.file("unpacked-\(tool)")
            try Shell.check(["sh", "-c", "\(tool) -d -c '\(ours)' > '\(unpacked)'"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: unpacked)) == Data(Self.segment), "\(tool) reads snapfleet's \(compression)")
            try Shell.check(["sh", "-c", "\(tool) -c '\(plain)' > '\(directory.file("theirs"))'"])
            let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.file("theirs"))))
            #expect(try compression.decompress(theirs) == Self.segment, "snapfleet reads \(tool)'s output")
        }
    }

    @Test("corrupt, truncated and oversized inputs are errors, never crashes", arguments: [Compression.gzip, .zstd])
    func badInput(compression: Compression) throws {
        let packed = try compression.compress(Self.segment)
        #expect(throws: SnapfleetError.self) { try compression.decompress(Array(packed.prefix(packed.count / 2))) }
        #expect(throws: SnapfleetError.self) { try compression.decompress(Array("not compressed at all".utf8)) }
        #expect(throws: SnapfleetError.self) { try compression.decompress(packed, limit: 1000) }
        #expect(throws: SnapfleetError.self) { try compression.decompress([]) }
    }

    @Test("a compressor reused for files and buffers of any size gives the bytes a fresh one gives", arguments: Compression.allCases)
    func reusedCompressor(compression: Compression) throws {
        let directory = try TemporaryDirectory(prefix: "compressor")
        let reused = Compressor()
        for size in [Self.segment.count, 1000, 0, Self.segment.count] {
            let input = Array(Self.segment.prefix(size))
            let path = directory.file("input-\(size)")
            try Data(input).write(to: URL(fileURLWithPath: path))
            let fresh = try compression.compress(input)
            #expect(try reused.compress(file: path, with: compression) == fresh, "a file of \(size) bytes")
            #expect(try reused.compress(input, with: compression) == fresh, "a buffer of \(size) bytes")
            #expect(try compression.decompress(fresh) == input)
        }
        #expect(throws: SnapfleetError.self) { try reused.compress(file: directory.file("missing"), with: compression) }
    }

    @Test("a decompressor fed in pieces of any size gives the whole segment, and a stream cut short is an error", arguments: Compression.allCases)
    func streamsInPieces(compression: Compression) throws {
        let packed = try compression.compress(Self.segment)
        for pieceSize in [1, 7, 4096, packed.count] {
            let decompressor = try Decompressor(compression)
            var output: [UInt8] = []
            for start in stride(from: 0, to: packed.count, by: pieceSize) {
                let piece = Array(packed[start..<min(start + pieceSize, packed.count)])
                try piece.withUnsafeBytes { input in
                    Result { () throws(SnapfleetError) in try decompressor.feed(input) { output.append(contentsOf: $0) } }
                }.get()
            }
            try decompressor.finish()
            #expect(output == Self.segment, "pieces of \(pieceSize) bytes")
        }
        guard compression != .none else { return }
        let cut = try Decompressor(compression)
        try Array(packed.prefix(packed.count - 8)).withUnsafeBytes { input in
            Result { () throws(SnapfleetError) in try cut.feed(input) { _ in } }
        }.get()
        #expect(throws: SnapfleetError.self) { try cut.finish() }
    }
}
