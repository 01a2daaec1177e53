import Foundation
import SnapfleetCore
import Testing

@Suite("UnknownKeys: keys a decoder silently ignored")
struct UnknownKeysTests {
    private func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test("nested objects and arrays report dotted paths of keys the round trip lost")
    func nestedPaths() throws {
        let input = try json(#"{"a": 1, "servers": {"pg1": {"agent_kye": "x", "agent_key": "y"}}, "list": [{"ok": 1, "bad": 2}]}"#)
        let kept = try json(#"{"a": 1, "servers": {"pg1": {"agent_key": "y"}}, "list": [{"ok": 1}]}"#)
        #expect(UnknownKeys.paths(input: input, reencoded: kept) == ["list[0].bad", "servers.pg1.agent_kye"])
        #expect(UnknownKeys.paths(input: input, reencoded: input).isEmpty)
    }

    @Test("a prefix names the part of the document checked, and paths lead back to values")
    func prefixAndLookup() throws {
        let input = try json(#"{"hint": null, "x": [1, {"y": true}]}"#)
        #expect(UnknownKeys.paths(input: input, reencoded: .object([:]), prefix: "body") == ["body.hint", "body.x"])
        #expect(UnknownKeys.value(at: "body.hint", in: input, prefix: "body") == .null)
        #expect(UnknownKeys.value(at: "body.x[1].y", in: input, prefix: "body") == .bool(true))
        #expect(UnknownKeys.value(at: "body.x[5]", in: input, prefix: "body") == nil)
    }
}

@Suite("SnapfleetError, Redacted and DecodingErrorText: what operators and logs see")
struct ErrorTextTests {
    @Test("an error prints its message and hint on one line")
    func description() {
        #expect("\(SnapfleetError(.timeout, "no reply in time"))" == "no reply in time")
        #expect("\(SnapfleetError(.invalidKey, "bad key", hint: "chmod 600 k"))" == "bad key (hint: chmod 600 k)")
    }

    @Test("a secret is hidden from every printed and reflected form")
    func redacted() {
        let secret = Redacted("password=hunter2")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect(!dumped.contains("hunter2"))
        #expect(Mirror(reflecting: secret).children.isEmpty)
    }

    @Test("decoding errors name the key path and what was expected")
    func decodingErrors() {
        struct Inner: Decodable { let port: Int }
        struct Outer: Decodable { let servers: [String: Inner] }
        let decoder = JSONDecoder()
        do {
            _ = try decoder.decode(Outer.self, from: Data(#"{"servers": {"pg1": {"port": "x"}}}"#.utf8))
            Issue.record("decoded a string as an integer")
        } catch let error as DecodingError {
            #expect(DecodingErrorText.describe(error) == "'servers.pg1.port' must be an integer")
        } catch {
            Issue.record("unexpected \(error)")
        }
        do {
            _ = try decoder.decode(Outer.self, from: Data(#"{"servers": {"pg1": {}}}"#.utf8))
            Issue.record("decoded without a required key")
        } catch let error as DecodingError {
            #expect(DecodingErrorText.describe(error) == "missing key 'servers.pg1.port'")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("timestamps are RFC 3339 in UTC")
    func timestamps() {
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1_764_105_600)) == "2025-11-25T21:20:00Z")
    }

    @Test("every error code is snake_case and unique")
    func errorCodes() {
        let values = ErrorCode.allCases.map(\.rawValue)
        #expect(Set(values).count == values.count)
        #expect(values.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
    }
}
