import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("proto/schemas covers the Swift types")
struct SchemaCoverageTests {
    @Test("every message type has a schema describing its envelope", arguments: MessageType.allCases)
    func schemaPerType(_ type: MessageType) throws {
        let schema = try ProtocolFiles.schema(type.rawValue)
        #expect(schema["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        #expect(schema["additionalProperties"] == .bool(false))
        guard case .object(let properties) = schema["properties"], case .array(let required) = schema["required"] else {
            Issue.record("schemas/\(type.rawValue).json has no properties or required")
            return
        }
        #expect(properties["type"] == .object(["const": .string(type.rawValue)]))
        #expect(Set(properties.keys).isSubset(of: ["protocol", "id", "type", "in_reply_to", "body"]))
        // in_reply_to: required on replies (optional on error), absent from requests and notifications.
        #expect((properties["in_reply_to"] != nil) == (type.kind == .reply))
        #expect(required.contains(.string("in_reply_to")) == (type.kind == .reply && type != .error))
        for key in ["protocol", "id", "type", "body"] { #expect(required.contains(.string(key))) }
    }

    @Test("every message type has a valid example", arguments: MessageType.allCases)
    func examplePerType(_ type: MessageType) throws {
        #expect(try ProtocolFiles.validExamples().contains { $0.type == type.rawValue })
    }

    @Test("every schema belongs to a message type")
    func noStraySchemas() throws {
        let names = try ProtocolFiles.jsonFiles("schemas").map { $0.deletingPathExtension().lastPathComponent }
        for name in names where name != "common" {
            #expect(MessageType(rawValue: name) != nil, "schemas/\(name).json names no MessageType")
        }
        #expect(names.count == MessageType.allCases.count + 1)
    }

    @Test("the schemas list every error code and backup phase")
    func enumsMatch() throws {
        guard case .object(let defs) = try ProtocolFiles.schema("common")["$defs"],
            case .object(let codes) = defs["error_code"], case .object(let phases) = defs["backup_phase"]
        else {
            Issue.record("common.json lacks error_code or backup_phase")
            return
        }
        #expect(codes["enum"] == .array(ErrorCode.allCases.map { .string($0.rawValue) }))
        #expect(phases["enum"] == .array(BackupPhase.allCases.map { .string($0.rawValue) }))
    }
}
