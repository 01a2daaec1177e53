import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("Message ids")
struct MessageIDTests {
    @Test("random ids are valid, 32 lower-case hex digits, and unique")
    func randomIDs() {
        let ids = (0..<10_000).map { _ in MessageID.random() }
        for id in ids.prefix(100) {
            #expect(MessageID.isValid(id.rawValue))
            #expect(id.rawValue.utf8.count == 32)
            #expect(id.rawValue.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) })
        }
        #expect(Set(ids).count == ids.count)
    }

    @Test(
        "ids of 1 to 64 characters of [A-Za-z0-9_-] are accepted",
        arguments: ["a", "Z", "0", "_", "-", "cli-1", "hello_3", String(repeating: "A", count: 64)])
    func accepted(_ text: String) throws {
        #expect(try MessageID(text).rawValue == text)
    }

    @Test(
        "other ids are refused with malformed_message",
        arguments: ["", String(repeating: "A", count: 65), "msg 1", "a/b", "a.b", "é", "a\n", "a\u{0}", "１"])
    func refused(_ text: String) {
        #expect(!MessageID.isValid(text))
        let error = #expect(throws: SnapfleetError.self) { try MessageID(text) }
        #expect(error?.code == .malformedMessage)
    }

    @Test("an id encodes as a bare JSON string")
    func encoding() throws {
        let envelope = Envelope(id: try MessageID("abc_DEF-123"), .heartbeat)
        guard case .object(let fields) = try ProtocolFiles.parse(WireCodec.encode(envelope)) else {
            Issue.record("not an object")
            return
        }
        #expect(fields["id"] == .string("abc_DEF-123"))
        #expect(fields["in_reply_to"] == nil)
    }
}
