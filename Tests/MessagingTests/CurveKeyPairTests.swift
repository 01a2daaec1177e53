import Messaging
import SnapfleetCore
import Testing

@Suite("CurveKeyPair: generation, derivation, and a secret that is never printed")
struct CurveKeyPairTests {
    @Test("a generated pair has 40-character Z85 halves, and two pairs differ")
    func generate() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.z85.count == 40)
        #expect(pair.secretKey.value.count == 40)
        #expect(try CurvePublicKey(z85: pair.publicKey.z85) == pair.publicKey)
        let other = try CurveKeyPair.generate()
        #expect(other.publicKey != pair.publicKey)
        #expect(other.secretKey.value != pair.secretKey.value)
    }

    @Test("the pair of a secret key derives the same public key")
    func deriveFromSecret() throws {
        let pair = try CurveKeyPair.generate()
        let derived = try CurveKeyPair(secretZ85: pair.secretKey.value)
        #expect(derived.publicKey == pair.publicKey)
        #expect(derived.secretKey == pair.secretKey)
    }

    @Test(
        "a secret key of the wrong length or with characters outside Z85 is refused as invalid_key",
        arguments: [
            "",
            "short",
            String(repeating: "a", count: 39),
            String(repeating: "a", count: 41),
            String(repeating: "a", count: 39) + "\"",
            String(repeating: "a", count: 39) + "~",
            String(repeating: "a", count: 39) + " ",
            String(repeating: "#", count: 40),  // Z85 characters, but each group overflows 32 bits
            String(repeating: "a", count: 38) + "é",  // 40 UTF-8 bytes, not ASCII
        ])
    func invalidSecret(text: String) {
        #expect(throws: SnapfleetError(.invalidKey, "the secret key must be 40 characters of Z85 text")) {
            try CurveKeyPair(secretZ85: text)
        }
    }

    @Test("the secret half never appears in the pair's printed forms")
    func secretNotPrinted() throws {
        let pair = try CurveKeyPair.generate()
        let secret = pair.secretKey.value
        let printed = [
            "\(pair)", String(describing: pair), String(reflecting: pair),
            "\(pair.secretKey)", String(describing: pair.secretKey), String(reflecting: pair.secretKey),
        ]
        for text in printed {
            #expect(!text.contains(secret))
        }
        #expect(String(describing: pair.secretKey) == "<redacted>")
        #expect("\(pair)".contains(pair.publicKey.z85), "the public key is not secret and helps operators")
    }

    @Test("the secret half is not reachable by reflection (dump, Mirror)")
    func secretNotReflected() throws {
        let pair = try CurveKeyPair.generate()
        var dumped = ""
        dump(pair, to: &dumped)
        #expect(!dumped.contains(pair.secretKey.value))
        let children = Mirror(reflecting: pair.secretKey).children.map { "\($0.value)" }
        #expect(!children.contains(pair.secretKey.value))
    }
}
