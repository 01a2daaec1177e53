import Digests
import SnapfleetCore
import Testing

@testable import AWSSigning

@Suite("SigningKey")
struct SigningKeyTests {
    static let secret = Redacted("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    @Test("the key derivation matches AWS's published example (20120215, us-east-1, iam)")
    func publishedDerivation() throws {
        let key = try SigningKey(secretAccessKey: Self.secret, day: "20120215", region: "us-east-1", service: "iam")
        #expect(Hex.lowercase(key.bytes) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
        #expect(key.scope == "20120215/us-east-1/iam/aws4_request")
        #expect(key.day == "20120215")
    }

    @Test("a key prints and dumps its scope only")
    func redacted() throws {
        let key = try SigningKey(secretAccessKey: Self.secret, day: "20120215", region: "us-east-1", service: "iam")
        var dumped = ""
        dump(key, to: &dumped)
        for text in [String(describing: key), String(reflecting: key), dumped] {
            #expect(!text.contains("f4780e2d"))
            #expect(!text.contains(Self.secret.value))
        }
        #expect(key.description == "SigningKey(20120215/us-east-1/iam/aws4_request)")
    }
}
