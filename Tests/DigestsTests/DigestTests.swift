import Digests
import Testing

@Suite("Digest")
struct DigestTests {
    @Test("hex is lowercase, two digits a byte, leading zeros kept")
    func hexForm() {
        let digest = Digest(bytes: [0x00, 0x0f, 0xa0, 0xff, 0x5c])
        #expect(digest.hex == "000fa0ff5c")
        #expect(digest.description == "000fa0ff5c")
        #expect(digest.count == 5)
    }

    @Test("hex of no bytes is empty")
    func emptyHex() {
        #expect(Hex.lowercase([UInt8]()) == "")
    }

    @Test("digests compare by their bytes")
    func equality() {
        #expect(Digest(bytes: [1, 2]) == Digest(bytes: [1, 2]))
        #expect(Digest(bytes: [1, 2]) != Digest(bytes: [2, 1]))
    }
}
