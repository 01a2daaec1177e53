import AWSSigning
import SnapfleetCore
import Testing

@Suite("AWSCredentials")
struct AWSCredentialsTests {
    static let credentials = AWSCredentials(
        accessKeyID: "ASIAEXAMPLE", secretAccessKey: Redacted("very-secret-key"), sessionToken: Redacted("very-secret-token"))

    @Test("printed, debug-printed and dumped credentials show the key id but never the secret or token")
    func redacted() {
        var dumped = ""
        dump(Self.credentials, to: &dumped)
        let mirrored = Mirror(reflecting: Self.credentials).children.map { "\($0.label ?? ""):\($0.value)" }.joined()
        for text in [String(describing: Self.credentials), String(reflecting: Self.credentials), dumped, mirrored] {
            #expect(text.contains("ASIAEXAMPLE"))
            #expect(!text.contains("very-secret"))
        }
        #expect(
            Self.credentials.description
                == "AWSCredentials(accessKeyID: ASIAEXAMPLE, secretAccessKey: <redacted>, sessionToken: <redacted>)")
    }

    @Test("credentials without a session token say so")
    func noToken() {
        let credentials = AWSCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: Redacted("s"))
        #expect(credentials.description.hasSuffix("sessionToken: none)"))
        #expect(credentials.sessionToken == nil)
    }
}
