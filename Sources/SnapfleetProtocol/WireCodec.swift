import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns envelopes into JSON frames and back, refusing anything that is not exactly the contract.
public enum WireCodec {
    /// The keys an envelope may have.
    static let envelopeKeys: Set<String> = ["protocol", "id", "type", "in_reply_to", "body"]

    /// Encodes an envelope as one JSON frame (keys sorted, so output is deterministic).
    public static func encode(_ envelope: Envelope) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own value types cannot fail: they hold only strings, numbers and bools.
        let data = try! encoder.encode(EncodedEnvelope(envelope))
        return Array(data)
    }

    /// Decodes one JSON frame, checking size, shape, version, type, body keys and values.
    public static func decode(_ frame: [UInt8]) throws(InboundError) -> Envelope {
        guard frame.count <= ProtocolLimits.maxEnvelopeBytes else {
            throw InboundError(
                SnapfleetError(.messageTooLarge, "message of \(frame.count) bytes exceeds the limit of \(ProtocolLimits.maxEnvelopeBytes)"),
                requestID: nil)
        }
        let data = Data(frame)
        let fields = try envelopeFields(data)
        let id = try messageID(fields["id"])
        do {
            try rejectUnknownEnvelopeKeys(fields)
            return try decodeEnvelope(data, fields: fields, id: id)
        } catch {
            throw InboundError(error, requestID: id)
        }
    }

    /// The top-level object of a frame.
    private static func envelopeFields(_ data: Data) throws(InboundError) -> [String: JSONValue] {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw malformed("frame is not valid JSON")
        }
        guard case .object(let fields) = document else { throw malformed("envelope must be a JSON object") }
        return fields
    }

    /// Checked after the id is read, so the refusal can name the request it answers.
    private static func rejectUnknownEnvelopeKeys(_ fields: [String: JSONValue]) throws(SnapfleetError) {
        if let unknown = fields.keys.sorted().first(where: { !envelopeKeys.contains($0) }) {
            throw SnapfleetError(.malformedMessage, "unknown envelope key '\(Wire.sanitized(unknown, maxLength: 64))'")
        }
    }

    /// The message id, required before anything can be answered.
    private static func messageID(_ value: JSONValue?) throws(InboundError) -> MessageID {
        guard case .string(let text) = value, let id = try? MessageID(text) else {
            throw malformed("envelope needs an id of 1-\(ProtocolLimits.maxMessageIDLength) characters of [A-Za-z0-9_-]")
        }
        return id
    }

    /// Everything after the id: version, type, reply id, body.
    private static func decodeEnvelope(_ data: Data, fields: [String: JSONValue], id: MessageID) throws(SnapfleetError) -> Envelope {
        guard case .number(let version) = fields["protocol"] else {
            throw SnapfleetError(.malformedMessage, "envelope needs a numeric protocol version")
        }
        guard version == Double(ProtocolLimits.version) else {
            throw SnapfleetError(
                .unsupportedVersion, "protocol version \(version.formatted) is not supported; this program speaks version \(ProtocolLimits.version)")
        }
        guard case .string(let typeName) = fields["type"] else {
            throw SnapfleetError(.malformedMessage, "envelope needs a string type")
        }
        guard let type = MessageType(rawValue: typeName) else {
            throw SnapfleetError(.unknownType, "unknown message type '\(Wire.sanitized(typeName, maxLength: 64))'")
        }
        let inReplyTo = try replyID(fields["in_reply_to"], type: type)
        guard case .object = fields["body"] else {
            throw SnapfleetError(.malformedMessage, "envelope needs a body object")
        }
        let message = try Message.decode(type, body: BodyDecoder(data: data, body: fields["body"]!))
        return Envelope(id: id, inReplyTo: inReplyTo, message)
    }

    /// `in_reply_to`: required on replies, forbidden elsewhere.
    private static func replyID(_ value: JSONValue?, type: MessageType) throws(SnapfleetError) -> MessageID? {
        switch (value, type.kind) {
        case (nil, .reply) where type != .error:
            throw SnapfleetError(.malformedMessage, "a \(type.rawValue) reply needs in_reply_to")
        case (nil, _):
            return nil
        case (.string(let text), .reply):
            guard let id = try? MessageID(text) else {
                throw SnapfleetError(.malformedMessage, "in_reply_to is not a valid message id")
            }
            return id
        case (_, .reply):
            throw SnapfleetError(.malformedMessage, "in_reply_to must be a string")
        default:
            throw SnapfleetError(.malformedMessage, "only replies carry in_reply_to")
        }
    }

    private static func malformed(_ message: String) -> InboundError {
        InboundError(SnapfleetError(.malformedMessage, message), requestID: nil)
    }
}

/// Decodes a body strictly: types by JSONDecoder, unknown keys by a round trip, values by `validate()`.
struct BodyDecoder {
    /// The whole frame (the body is decoded from it, to keep numbers exact).
    let data: Data
    /// The body as parsed, for the unknown-key check.
    let body: JSONValue

    /// Decodes, checks keys and validates a body of type `T`.
    func decode<T: WireBody>(_ type: T.Type) throws(SnapfleetError) -> T {
        let value: T
        do {
            value = try JSONDecoder().decode(BodyOnly<T>.self, from: data).body
        } catch let error as DecodingError {
            throw SnapfleetError(.invalidBody, DecodingErrorText.describe(error))
        } catch {
            throw SnapfleetError(.invalidBody, "body could not be decoded")
        }
        let reencoded = (try? JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))) ?? .null
        if let unknown = UnknownKeys.paths(input: body, reencoded: reencoded, prefix: "body").first {
            let path = Wire.sanitized(unknown, maxLength: 256)
            // A known optional key sent as null also fails the round trip: say so rather than "unknown".
            if UnknownKeys.value(at: unknown, in: body, prefix: "body") == .null {
                throw SnapfleetError(.invalidBody, "'\(path)' must not be null (leave the key out instead)")
            }
            throw SnapfleetError(.invalidBody, "unknown key '\(path)'")
        }
        try value.validate()
        return value
    }
}

/// The body of an envelope, ignoring the envelope's own keys (checked separately).
private struct BodyOnly<T: WireBody>: Decodable {
    let body: T
}

/// The encodable form of an envelope.
private struct EncodedEnvelope: Encodable {
    let envelope: Envelope

    init(_ envelope: Envelope) { self.envelope = envelope }

    enum CodingKeys: String, CodingKey {
        case version = "protocol", id, type, inReplyTo = "in_reply_to", body
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ProtocolLimits.version, forKey: .version)
        try container.encode(envelope.id, forKey: .id)
        try container.encode(envelope.message.type, forKey: .type)
        try container.encodeIfPresent(envelope.inReplyTo, forKey: .inReplyTo)
        try container.encode(envelope.message.body, forKey: .body)
    }
}

extension Double {
    /// `2` rather than `2.0` for whole numbers, for error messages.
    var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}
