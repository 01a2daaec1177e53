import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

/// The contract files under `proto/`, found from this source file's place in the repository.
enum ProtocolFiles {
    /// The repository root (this file is `Tests/SnapfleetProtocolTests/ProtocolFiles.swift`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// `proto/`.
    static let proto = root.appendingPathComponent("proto")
    /// `proto/schemas/`.
    static let schemas = proto.appendingPathComponent("schemas")

    /// The `.json` files of a directory under `proto/`, sorted by name.
    static func jsonFiles(_ directory: String) throws -> [URL] {
        let url = proto.appendingPathComponent(directory)
        return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".json") }.sorted()
            .map { url.appendingPathComponent($0) }
    }

    /// A file's bytes.
    static func bytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    /// Bytes parsed as a JSON tree, for comparing documents regardless of key order and spacing.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The schema of a message type, or of `common`.
    static func schema(_ name: String) throws -> [String: JSONValue] {
        guard case .object(let schema) = try parse(bytes(schemas.appendingPathComponent("\(name).json"))) else {
            throw ExampleFileError("schemas/\(name).json is not an object")
        }
        return schema
    }

    /// Every `proto/examples/valid/*.json`.
    static func validExamples() throws -> [ValidExample] {
        try jsonFiles("examples/valid").map { url in
            let name = url.deletingPathExtension().lastPathComponent
            return ValidExample(name: name, type: String(name.prefix { $0 != "-" }), frame: try bytes(url))
        }
    }

    /// Every `proto/examples/invalid/*.json`.
    static func invalidExamples() throws -> [InvalidExample] {
        try jsonFiles("examples/invalid").map { url in
            let name = url.deletingPathExtension().lastPathComponent
            guard case .object(let fields) = try parse(bytes(url)), case .string(let code) = fields["expected_code"],
                let expectedCode = ErrorCode(rawValue: code)
            else { throw ExampleFileError("invalid/\(name).json needs an expected_code that is an ErrorCode") }
            switch (fields["frame"], fields["frame_text"]) {
            case (.some(let frame), nil):
                var readableID: MessageID?
                if case .object(let envelope) = frame, case .string(let id) = envelope["id"] { readableID = try? MessageID(id) }
                return InvalidExample(
                    name: name, expectedCode: expectedCode, frame: Array(try JSONEncoder().encode(frame)), readableID: readableID)
            case (nil, .some(.string(let text))):
                return InvalidExample(name: name, expectedCode: expectedCode, frame: Array(text.utf8), readableID: nil)
            default:
                throw ExampleFileError("invalid/\(name).json needs exactly one of frame and frame_text")
            }
        }
    }
}

/// A file under `proto/` that does not have the expected shape.
struct ExampleFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `proto/examples/valid/<type>[-variant].json`: a frame that must be accepted.
struct ValidExample: Sendable, CustomTestStringConvertible {
    /// The file name without `.json`.
    let name: String
    /// The message type the file name claims.
    let type: String
    /// The frame, exactly as stored.
    let frame: [UInt8]

    var testDescription: String { name }
}

/// `proto/examples/invalid/<name>.json`: a frame that must be refused with `expectedCode`.
struct InvalidExample: Sendable, CustomTestStringConvertible {
    /// The file name without `.json`.
    let name: String
    /// The code the refusal must carry.
    let expectedCode: ErrorCode
    /// The frame's bytes (`frame` re-serialized, or `frame_text` as UTF-8).
    let frame: [UInt8]
    /// The frame's id when it is a valid message id: the error reply must answer it.
    let readableID: MessageID?

    var testDescription: String { name }
}

/// The refusal of a frame, or nil (with an issue recorded) when the frame is accepted.
func refusal(_ frame: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> InboundError? {
    do {
        let envelope = try WireCodec.decode(frame)
        Issue.record("frame was accepted as \(envelope.message.type.rawValue)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// The refusal of a frame given as text.
func refusal(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> InboundError? {
    refusal(Array(text.utf8), sourceLocation: sourceLocation)
}
