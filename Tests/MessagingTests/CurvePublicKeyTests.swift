import Foundation
import Messaging
import SnapfleetCore
import Testing

@Suite("CurvePublicKey: Z85 text checked on every way in")
struct CurvePublicKeyTests {
    /// RFC 32's Z85 test vector (8 bytes → "HelloWorld"), four times over to make 32 bytes.
    let vectorBytes: [UInt8] = Array(repeating: [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B], count: 4).flatMap { $0 }

    @Test("32 raw bytes encode as in RFC 32's test vector")
    func fromBytes() throws {
        let key = try CurvePublicKey(bytes: vectorBytes)
        #expect(key.z85 == "HelloWorldHelloWorldHelloWorldHelloWorld")
        #expect(try CurvePublicKey(z85: key.z85) == key)
        #expect(key.description == key.z85)
    }

    @Test("raw bytes of another length are refused", arguments: [0, 31, 33])
    func wrongByteCount(count: Int) {
        #expect(throws: SnapfleetError(.invalidKey, "a CURVE key has 32 bytes")) {
            try CurvePublicKey(bytes: [UInt8](repeating: 1, count: count))
        }
    }

    @Test(
        "Z85 text of the wrong length or with bad characters is refused with a hint",
        arguments: [
            "", "HelloWorld", "HelloWorldHelloWorldHelloWorldHelloWorl", "HelloWorldHelloWorldHelloWorldHelloWorldH",
            "HelloWorldHelloWorldHelloWorldHelloWor\"d", "HelloWorldHelloWorldHelloWorldHello orld",
            "HelloWorldHelloWorldHelloWorldHelloWorl~",
        ])
    func invalidText(text: String) {
        #expect(
            throws: SnapfleetError(
                .invalidKey, "a CURVE key must be 40 characters of Z85 text", hint: "use the public key printed by 'keygen'")
        ) {
            try CurvePublicKey(z85: text)
        }
    }

    @Test("JSON decoding validates the text and reports the reason")
    func codable() throws {
        let key = try CurvePublicKey(bytes: vectorBytes)
        let encoded = try JSONEncoder().encode([key])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["HelloWorldHelloWorldHelloWorldHelloWorld"]"#)
        #expect(try JSONDecoder().decode([CurvePublicKey].self, from: encoded) == [key])

        let error = try #require(throws: DecodingError.self) {
            try JSONDecoder().decode([CurvePublicKey].self, from: Data(#"["HelloWorld"]"#.utf8))
        }
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted, got \(error)")
            return
        }
        #expect(context.debugDescription == "a CURVE key must be 40 characters of Z85 text")
    }
}
