import Digests
import Testing

@Suite("SecureRandom")
struct SecureRandomTests {
    @Test("returns exactly the requested number of bytes")
    func length() throws {
        #expect(try SecureRandom.bytes(count: 0).isEmpty)
        #expect(try SecureRandom.bytes(count: 1).count == 1)
        #expect(try SecureRandom.bytes(count: 4096).count == 4096)
    }

    @Test("two draws of 32 bytes differ")
    func draws() throws {
        #expect(try SecureRandom.bytes(count: 32) != SecureRandom.bytes(count: 32))
    }

    @Test("a negative count is an error, not a crash")
    func negativeCount() {
        #expect(throws: DigestError.self) { try SecureRandom.bytes(count: -1) }
    }
}
