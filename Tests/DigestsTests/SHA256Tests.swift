import Digests
import Foundation
import Testing

@Suite("SHA256")
struct SHA256Tests {
    // NIST FIPS 180-2 / CSRC example vectors.
    static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let message448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    static let message448Digest = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    static let millionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

    @Test("the empty message hashes to the NIST vector")
    func emptyMessage() throws {
        #expect(try SHA256.hash("").hex == Self.empty)
        #expect(try SHA256.hash([UInt8]()).hex == Self.empty)
    }

    @Test("\"abc\" hashes to the NIST vector as String, [UInt8] and Data")
    func abcVector() throws {
        #expect(try SHA256.hash("abc").hex == Self.abc)
        #expect(try SHA256.hash(Array("abc".utf8)).hex == Self.abc)
        #expect(try SHA256.hash(Data("abc".utf8)).hex == Self.abc)
        #expect(try SHA256.hash("abc".utf8).hex == Self.abc)
    }

    @Test("the 448-bit two-block message hashes to the NIST vector")
    func twoBlockMessage() throws {
        let digest = try SHA256.hash(Self.message448)
        #expect(digest.hex == Self.message448Digest)
        #expect(digest.count == 32)
    }

    @Test("one million 'a's streamed in 1000-byte chunks hash to the NIST vector")
    func millionAStreamed() throws {
        let hasher = try SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { try hasher.update(chunk) }
        #expect(try hasher.finalize().hex == Self.millionA)
    }

    @Test("a non-contiguous sequence hashes like the same bytes in an array")
    func nonContiguousSequence() throws {
        let lazyBytes = "abc".utf8.lazy.map { $0 }
        #expect(try SHA256.hash(lazyBytes).hex == Self.abc)
    }

    @Test("a hasher starts over after finalize")
    func reuseAfterFinalize() throws {
        let hasher = try SHA256()
        try hasher.update("ab")
        try hasher.update("c")
        #expect(try hasher.finalize().hex == Self.abc)
        #expect(try hasher.finalize().hex == Self.empty)
        try hasher.update(Data("abc".utf8))
        #expect(try hasher.finalize().hex == Self.abc)
    }
}
