import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("Invalid examples in proto/examples/invalid")
struct InvalidExampleTests {
    @Test("every invalid example is refused with exactly its expected code", arguments: try ProtocolFiles.invalidExamples())
    func refusedWithExpectedCode(_ example: InvalidExample) throws {
        let refused = try #require(refusal(example.frame))
        #expect(refused.error.code == example.expectedCode, "\(refused.error.message)")
        #expect(!refused.error.retryable)
        #expect(!refused.error.message.isEmpty)
    }

    @Test("a refusal names the refused message whenever its id could be read", arguments: try ProtocolFiles.invalidExamples())
    func refusalKeepsTheID(_ example: InvalidExample) throws {
        let refused = try #require(refusal(example.frame))
        #expect(refused.requestID == example.readableID)
    }

    @Test(
        "every refusal can be answered with an error reply that itself survives the wire",
        arguments: try ProtocolFiles.invalidExamples())
    func refusalIsAnswerable(_ example: InvalidExample) throws {
        let refused = try #require(refusal(example.frame))
        let reply = Envelope.error(replyingTo: refused.requestID, refused.error)
        let decoded = try WireCodec.decode(WireCodec.encode(reply))
        #expect(decoded == reply)
        guard case .error(let body) = decoded.message else {
            Issue.record("not an error reply")
            return
        }
        #expect(body.code == example.expectedCode)
        #expect(body.snapfleetError == refused.error)
    }

    @Test("the required kinds of invalid example are all present")
    func coverage() throws {
        let names = Set(try ProtocolFiles.invalidExamples().map(\.name))
        let required = [
            "envelope-unknown-key", "envelope-missing-id", "envelope-bad-id", "envelope-wrong-protocol",
            "envelope-unknown-type", "body-unknown-key", "body-missing-key", "body-wrong-type", "backup_start-lease-zero",
            "backup_start-label-newline", "backup_start-bad-backup-id", "reply-without-in-reply-to",
            "request-with-in-reply-to", "not-json", "json-array", "hello-facts-and-error", "hello-bad-system-identifier",
        ]
        for name in required { #expect(names.contains(name), "missing invalid/\(name).json") }
        let codes = Set(try ProtocolFiles.invalidExamples().map(\.expectedCode))
        #expect(codes == [.malformedMessage, .unsupportedVersion, .unknownType, .invalidBody])
    }
}
