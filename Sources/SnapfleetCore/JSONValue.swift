/// A JSON document as a tree, for checks that look at a message's shape rather than its meaning.
public enum JSONValue: Sendable, Equatable, Codable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any number (precision beyond a Double is irrelevant to shape checks).
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as it is.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// Finds keys that a decoder silently ignored.
///
/// Swift's decoders skip keys a type does not know. snapfleet refuses them instead (a typo in
/// a configuration or a message must not pass unnoticed), so after decoding a value we
/// re-encode it and look for input keys that did not survive the round trip.
public enum UnknownKeys {
    /// Dotted paths (`servers.pg1.agent_kye`, `tablespaces[0].oidx`) of keys present in `input`
    /// but absent from `reencoded`, in sorted order.
    public static func paths(input: JSONValue, reencoded: JSONValue, prefix: String = "") -> [String] {
        switch (input, reencoded) {
        case (.object(let given), .object(let kept)):
            return given.keys.sorted().flatMap { key -> [String] in
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                guard let keptValue = kept[key] else { return [path] }
                return paths(input: given[key]!, reencoded: keptValue, prefix: path)
            }
        case (.array(let given), .array(let kept)) where given.count == kept.count:
            return zip(given, kept).enumerated().flatMap { index, pair in
                paths(input: pair.0, reencoded: pair.1, prefix: "\(prefix)[\(index)]")
            }
        default:
            return []
        }
    }

    /// The value at a dotted path produced by `paths` (nil if there is none).
    public static func value(at path: String, in document: JSONValue, prefix: String = "") -> JSONValue? {
        var remainder = Substring(path)
        if !prefix.isEmpty {
            guard remainder.hasPrefix(prefix) else { return nil }
            remainder = remainder.dropFirst(prefix.count)
        }
        var node = document
        while !remainder.isEmpty {
            if remainder.hasPrefix(".") { remainder = remainder.dropFirst() }
            if remainder.hasPrefix("["), let close = remainder.firstIndex(of: "]"),
                let index = Int(remainder[remainder.index(after: remainder.startIndex)..<close])
            {
                guard case .array(let items) = node, index < items.count else { return nil }
                node = items[index]
                remainder = remainder[remainder.index(after: close)...]
                continue
            }
            let end = remainder.firstIndex { $0 == "." || $0 == "[" } ?? remainder.endIndex
            guard case .object(let fields) = node, let next = fields[String(remainder[..<end])] else { return nil }
            node = next
            remainder = remainder[end...]
        }
        return node
    }
}
