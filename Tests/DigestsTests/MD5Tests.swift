import Digests
import Testing

@Suite("MD5")
struct MD5Tests {
    @Test("RFC 1321 vectors: the empty message and \"abc\"")
    func rfc1321Vectors() throws {
        #expect(try MD5.hash("").hex == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(try MD5.hash("abc").hex == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test("streaming in pieces equals hashing in one call")
    func streaming() throws {
        let hasher = try MD5()
        try hasher.update("message ")
        try hasher.update("digest")
        let digest = try hasher.finalize()
        #expect(digest.hex == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(digest.count == 16)
    }
}
