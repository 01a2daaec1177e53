import Digests
import Testing

/// One RFC 4231 test case (section 4), with the expected MAC as the RFC prints it.
struct RFC4231Case: Sendable, CustomTestStringConvertible {
    var number: Int
    var key: [UInt8]
    var data: [UInt8]
    var mac: String
    /// Case 5 checks only the first 128 bits.
    var truncatedTo: Int? = nil

    var testDescription: String { "RFC 4231 test case \(number)" }
}

@Suite("HMACSHA256")
struct HMACSHA256Tests {
    static let largeKey = [UInt8](repeating: 0xaa, count: 131)

    static let rfc4231: [RFC4231Case] = [
        RFC4231Case(
            number: 1, key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
            mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        RFC4231Case(
            number: 2, key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
            mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        RFC4231Case(
            number: 3, key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
            mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        RFC4231Case(
            number: 4, key: bytes(hex: "0102030405060708090a0b0c0d0e0f10111213141516171819"),
            data: [UInt8](repeating: 0xcd, count: 50),
            mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        RFC4231Case(
            number: 5, key: [UInt8](repeating: 0x0c, count: 20), data: Array("Test With Truncation".utf8),
            mac: "a3b6167473100ee06e0c796c2955552b", truncatedTo: 16),
        RFC4231Case(
            number: 6, key: largeKey, data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        RFC4231Case(
            number: 7, key: largeKey,
            data: Array(
                ("This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
            mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test("every RFC 4231 HMAC-SHA256 test case matches", arguments: rfc4231)
    func rfc4231Vector(_ vector: RFC4231Case) throws {
        let mac = try HMACSHA256.authenticate(message: vector.data, key: vector.key)
        #expect(mac.count == 32)
        let compared = vector.truncatedTo.map { Array(mac.bytes.prefix($0)) } ?? mac.bytes
        #expect(Hex.lowercase(compared) == vector.mac)
    }

    @Test("an empty key and an empty message give the well-known MAC")
    func emptyKeyAndMessage() throws {
        let mac = try HMACSHA256.authenticate(message: [UInt8](), key: [UInt8]())
        #expect(mac.hex == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test("a String's utf8 view works as message and key")
    func stringViews() throws {
        let mac = try HMACSHA256.authenticate(message: "what do ya want for nothing?".utf8, key: "Jefe".utf8)
        #expect(mac.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
