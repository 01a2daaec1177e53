/// Readable, one-line descriptions of `DecodingError`s: `path: what is wrong`.
public enum DecodingErrorText {
    /// Describes a decoding error with the dotted path of the offending key.
    public static func describe(_ error: DecodingError, prefix: String = "") -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key '\(path(context.codingPath + [key], prefix: prefix))'"
        case .typeMismatch(let type, let context):
            return "'\(path(context.codingPath, prefix: prefix))' must be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "'\(path(context.codingPath, prefix: prefix))' must be \(typeName(type)), not null"
        case .dataCorrupted(let context):
            let location = path(context.codingPath, prefix: prefix)
            return location.isEmpty ? context.debugDescription : "'\(location)': \(context.debugDescription)"
        @unknown default:
            return "invalid value"
        }
    }

    /// `a.b[0].c` from a coding path.
    public static func path(_ keys: [any CodingKey], prefix: String = "") -> String {
        keys.reduce(prefix) { result, key in
            if let index = key.intValue { return "\(result)[\(index)]" }
            return result.isEmpty ? key.stringValue : "\(result).\(key.stringValue)"
        }
    }

    /// A readable name for a Swift type expected by a decoder.
    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is UInt32.Type, is UInt64.Type: "an integer"
        case is Double.Type: "a number"
        default:
            // YAML decoders (Yams) name their node kinds rather than Swift types.
            switch String(describing: type) {
            case let name where name.hasPrefix("Array") || name.hasSuffix("Sequence"): "a list"
            case let name where name.hasSuffix("Scalar"): "a single value (not a list or mapping)"
            default: "an object"
            }
        }
    }
}
