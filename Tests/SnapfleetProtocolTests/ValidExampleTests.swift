import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("Valid examples in proto/examples/valid")
struct ValidExampleTests {
    @Test("every valid example decodes and re-encodes to an equal JSON value", arguments: try ProtocolFiles.validExamples())
    func roundTrip(_ example: ValidExample) throws {
        let envelope = try WireCodec.decode(example.frame)
        #expect(envelope.message.type.rawValue == example.type)
        let reencoded = WireCodec.encode(envelope)
        #expect(try ProtocolFiles.parse(reencoded) == ProtocolFiles.parse(example.frame))
        #expect(try WireCodec.decode(reencoded) == envelope)
    }

    @Test("there are valid examples to check")
    func found() throws {
        #expect(try ProtocolFiles.validExamples().count >= MessageType.allCases.count)
    }

    @Test("encoding is deterministic: sorted keys, slashes not escaped")
    func deterministicEncoding() throws {
        let example = try #require(try ProtocolFiles.validExamples().first { $0.name == "backup_stopped" })
        let envelope = try WireCodec.decode(example.frame)
        let text = String(decoding: WireCodec.encode(envelope), as: UTF8.self)
        #expect(text == String(decoding: WireCodec.encode(envelope), as: UTF8.self))
        #expect(text.hasPrefix(#"{"body":{"backup_id":"20251125T213000","backup_label":"START WAL LOCATION: 0/2000028"#))
        #expect(
            text.hasSuffix(
                #""id":"9ae0ea9e3c9c6e1b9b6252c8395efdc1","in_reply_to":"b026324c6904b2a9cb4b88d6d61c81d1","protocol":1,"type":"backup_stopped"}"#
            ))
    }

    @Test("a message built in Swift survives the wire")
    func builtMessageRoundTrip() throws {
        let start = Envelope(
            .backupStart(BackupStart(backupID: "20251125T213000", label: "nightly", fastCheckpoint: false, leaseSeconds: 600)))
        #expect(try WireCodec.decode(WireCodec.encode(start)) == start)
        let reply = Envelope.reply(
            to: start.id,
            .backupState(BackupState(backupID: "20251125T213000", phase: .starting, start: nil, leaseExpiresAt: nil, reason: nil))
        )
        let decoded = try WireCodec.decode(WireCodec.encode(reply))
        #expect(decoded == reply)
        #expect(decoded.inReplyTo == start.id)
        let heartbeat = Envelope(.heartbeat)
        #expect(
            try ProtocolFiles.parse(WireCodec.encode(heartbeat))
                == .object([
                    "protocol": .number(1), "id": .string(heartbeat.id.rawValue), "type": .string("heartbeat"),
                    "body": .object([:]),
                ]))
    }
}
