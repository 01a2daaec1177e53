import Foundation
import SnapfleetCore
import Yams

/// A configuration that can check its values after decoding (endpoints, names, ranges).
public protocol ValidatableConfig: Codable {
    /// Throws an `.invalidConfiguration` error naming the key at fault.
    func validate() throws(SnapfleetError)
}

/// Loads YAML configuration files strictly: unknown keys, missing keys, wrong types and
/// invalid values are each one line naming the file and the key.
public enum ConfigLoader {
    /// Reads, decodes and validates the configuration at `path`.
    public static func load<T: ValidatableConfig>(_ type: T.Type, from path: String) throws(SnapfleetError) -> T {
        let text = try readText(path)
        let value = try decode(type, yaml: text, path: path)
        do { try value.validate() } catch {
            throw SnapfleetError(.invalidConfiguration, "\(path): \(error.message)", hint: error.hint)
        }
        return value
    }

    /// The top-level string setting `key` of the file at `path`, nil when absent: one YAML parse,
    /// nothing else decoded or validated. For commands that run once per WAL segment and need one
    /// setting (the daemon, which reads the whole file strictly, has already refused a bad one).
    public static func string(_ key: String, from path: String) throws(SnapfleetError) -> String? {
        let text = try readText(path)
        let document: Any?
        // No implicit types (the default resolver compiles a dozen regular expressions first, most
        // of such a command's start-up): every scalar is read as the string it is written as.
        do { document = try Yams.load(yaml: text, .basic) } catch {
            throw SnapfleetError(.invalidConfiguration, "\(path): invalid YAML: \(firstLine(of: error))")
        }
        guard let mapping = document as? [String: Any] else {
            throw SnapfleetError(.invalidConfiguration, "\(path): expected a mapping of settings at the top level")
        }
        guard let value = mapping[key] else { return nil }
        guard let string = value as? String, !string.isEmpty else {
            throw SnapfleetError(.invalidConfiguration, "\(path): key '\(key)': expected a non-empty string")
        }
        return string
    }

    /// Decodes YAML text strictly (no validation); `path` only names the source in errors.
    public static func decode<T: Codable>(_ type: T.Type, yaml text: String, path: String) throws(SnapfleetError) -> T {
        let document: Any?
        do { document = try Yams.load(yaml: text) } catch {
            throw SnapfleetError(.invalidConfiguration, "\(path): invalid YAML: \(firstLine(of: error))")
        }
        guard document is [String: Any] else {
            throw SnapfleetError(.invalidConfiguration, "\(path): expected a mapping of settings at the top level")
        }
        let value: T
        do { value = try YAMLDecoder().decode(type, from: text) } catch let error as DecodingError {
            throw SnapfleetError(.invalidConfiguration, "\(path): \(DecodingErrorText.describe(error))", hint: misspelling(error, in: document))
        } catch {
            throw SnapfleetError(.invalidConfiguration, "\(path): \(firstLine(of: error))")
        }
        try rejectUnknownKeys(document, decoded: value, path: path)
        return value
    }

    private static func rejectUnknownKeys<T: Encodable>(_ document: Any?, decoded: T, path: String) throws(SnapfleetError) {
        let reencoded = (try? JSONEncoder().encode(decoded)).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) } ?? .null
        if let unknown = UnknownKeys.paths(input: jsonValue(document), reencoded: reencoded).first {
            throw SnapfleetError(.invalidConfiguration, "\(path): unknown key '\(unknown)'", hint: "check its spelling against the documentation")
        }
    }

    /// For a missing key, a present key one or two typos away from it ("did you mean").
    private static func misspelling(_ error: DecodingError, in document: Any?) -> String? {
        guard case .keyNotFound(let key, let context) = error else { return nil }
        let parent = context.codingPath.reduce(document) { node, step in
            if let index = step.intValue { return (node as? [Any]).flatMap { index < $0.count ? $0[index] : nil } }
            return (node as? [String: Any])?[step.stringValue]
        }
        guard let mapping = parent as? [String: Any] else { return nil }
        let near = mapping.keys.map { (name: $0, distance: EditDistance.between($0, key.stringValue)) }
            .filter { $0.distance <= 2 }.min { ($0.distance, $0.name) < ($1.distance, $1.name) }?.name
        return near.map { "found '\($0)': did you mean '\(key.stringValue)'?" }
    }

    /// The shape of a YAML document as JSON (only keys matter for the unknown-key check).
    private static func jsonValue(_ node: Any?) -> JSONValue {
        switch node {
        // An empty value (`server:`) is YAML null: the same as leaving the key out.
        case let mapping as [String: Any]: .object(mapping.filter { !($0.value is NSNull) }.mapValues { jsonValue($0) })
        case let mapping as [AnyHashable: Any]:
            .object(Dictionary(mapping.map { ("\($0.key)", jsonValue($0.value)) }, uniquingKeysWith: { first, _ in first }))
        case let sequence as [Any]: .array(sequence.map { jsonValue($0) })
        case nil, is NSNull: .null
        default: .string("\(node!)")
        }
    }

    /// The file's text; errors carry the system's reason (no such file, permission denied…).
    private static func readText(_ path: String) throws(SnapfleetError) -> String {
        guard let file = fopen(path, "r") else {
            let reason = String(cString: strerror(errno)).lowercased()
            throw SnapfleetError(.invalidConfiguration, "\(path): cannot read configuration file: \(reason)")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            bytes += buffer[0..<count]
            if count < buffer.count { break }
        }
        guard ferror(file) == 0 else {
            let reason = String(cString: strerror(errno)).lowercased()
            throw SnapfleetError(.invalidConfiguration, "\(path): cannot read configuration file: \(reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SnapfleetError(.invalidConfiguration, "\(path): cannot read configuration file: not UTF-8 text")
        }
        return text
    }

    private static func firstLine(of error: any Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }
}

/// Levenshtein distance, for "did you mean" hints.
enum EditDistance {
    /// The number of single-character edits turning `a` into `b`.
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, charA) in a.enumerated() {
            var current = [i + 1]
            for (j, charB) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (charA == charB ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
