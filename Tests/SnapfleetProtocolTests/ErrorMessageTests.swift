import SnapfleetCore
import SnapfleetProtocol
import Testing

/// Refusals say what is wrong and where, so an implementer of another agent can fix it.
@Suite("Refusal messages name the offending key")
struct ErrorMessageTests {
    /// A `backup_start` frame whose body is `body` (JSON text).
    func backupStart(body: String) -> String {
        #"{"protocol":1,"id":"req-1","type":"backup_start","body":\#(body)}"#
    }

    let startBody = #""backup_id":"20251125T213000","label":"nightly","fast_checkpoint":true"#

    @Test("an unknown body key is named with its path")
    func unknownBodyKey() throws {
        let refused = try #require(refusal(backupStart(body: "{\(startBody),\"lease_seconds\":600,\"lease_secs\":600}")))
        #expect(refused.error == SnapfleetError(.invalidBody, "unknown key 'body.lease_secs'"))
        #expect(refused.requestID == (try MessageID("req-1")))
    }

    @Test("an unknown nested key is named with its full path")
    func unknownNestedKey() throws {
        let example = try #require(try ProtocolFiles.invalidExamples().first { $0.name == "hello-nested-unknown-key" })
        let refused = try #require(refusal(example.frame))
        #expect(refused.error.message == "unknown key 'body.postgres.facts.tablespaces[0].oidx'")
    }

    @Test("a missing body key is named")
    func missingKey() throws {
        let refused = try #require(refusal(backupStart(body: "{\(startBody)}")))
        #expect(refused.error == SnapfleetError(.invalidBody, "missing key 'body.lease_seconds'"))
    }

    @Test("a value of the wrong JSON type is named with the type expected")
    func wrongType() throws {
        let refused = try #require(refusal(backupStart(body: "{\(startBody),\"lease_seconds\":\"600\"}")))
        #expect(refused.error == SnapfleetError(.invalidBody, "'body.lease_seconds' must be an integer"))
    }

    @Test("an out-of-range lease names the field and the range")
    func leaseRange() throws {
        let refused = try #require(refusal(backupStart(body: "{\(startBody),\"lease_seconds\":86401}")))
        #expect(refused.error == SnapfleetError(.invalidBody, "lease_seconds must be between 1 and 86400"))
    }

    @Test("a label with a newline is refused: it would add a line to backup_label")
    func labelNewline() throws {
        let body =
            #"{"backup_id":"20251125T213000","label":"nightly\nSTART TIMELINE: 2","fast_checkpoint":true,"lease_seconds":600}"#
        let refused = try #require(refusal(backupStart(body: body)))
        #expect(refused.error == SnapfleetError(.invalidBody, "label must not contain control characters"))
    }

    @Test("a bad backup id names the expected form")
    func badBackupID() throws {
        let refused = try #require(
            refusal(#"{"protocol":1,"id":"req-2","type":"backup_status","body":{"backup_id":"../../etc"}}"#))
        #expect(refused.error == SnapfleetError(.invalidBody, "backup_id must have the form YYYYMMDDTHHMMSS"))
    }

    @Test("an unknown envelope key is named")
    func unknownEnvelopeKey() throws {
        let refused = try #require(refusal(#"{"protocol":1,"id":"req-3","type":"heartbeat","body":{},"trace_id":"x"}"#))
        #expect(refused.error == SnapfleetError(.malformedMessage, "unknown envelope key 'trace_id'"))
    }

    @Test("a wrong protocol version names both versions")
    func wrongVersion() throws {
        let refused = try #require(refusal(#"{"protocol":2,"id":"req-4","type":"heartbeat","body":{}}"#))
        #expect(
            refused.error
                == SnapfleetError(.unsupportedVersion, "protocol version 2 is not supported; this program speaks version 1"))
        #expect(refused.requestID == (try MessageID("req-4")))
    }

    @Test("an unknown type is named, with control characters made harmless")
    func unknownType() throws {
        let refused = try #require(refusal(#"{"protocol":1,"id":"req-5","type":"backup_delete\nrm -rf","body":{}}"#))
        #expect(refused.error == SnapfleetError(.unknownType, "unknown message type 'backup_delete rm -rf'"))
    }

    @Test("in_reply_to rules name the message type")
    func replyRules() throws {
        let reply = try #require(
            refusal(
                #"{"protocol":1,"id":"r-1","type":"hello_ack","body":{"server":"pg1","controller_version":"0.1.0","heartbeat_interval_ms":5000}}"#
            ))
        #expect(reply.error == SnapfleetError(.malformedMessage, "a hello_ack reply needs in_reply_to"))
        let request = try #require(refusal(#"{"protocol":1,"id":"r-2","in_reply_to":"r-1","type":"heartbeat","body":{}}"#))
        #expect(request.error == SnapfleetError(.malformedMessage, "only replies carry in_reply_to"))
    }

    @Test("postgres must carry facts or an error, not both")
    func factsAndError() throws {
        let example = try #require(try ProtocolFiles.invalidExamples().first { $0.name == "hello-facts-and-error" })
        let refused = try #require(refusal(example.frame))
        #expect(refused.error.message == "postgres must carry facts when available and an error when not")
    }

    @Test("frames that are not JSON objects say so")
    func notObjects() throws {
        #expect(refusal("{\"protocol\":")?.error == SnapfleetError(.malformedMessage, "frame is not valid JSON"))
        #expect(refusal("[1,2]")?.error == SnapfleetError(.malformedMessage, "envelope must be a JSON object"))
        #expect(refusal(#"{"protocol":1,"type":"heartbeat","body":{}}"#)?.error.code == .malformedMessage)
    }
}
