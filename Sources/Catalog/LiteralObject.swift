/// A Python `dict` with string keys read as a record: known keys only, missing keys and `None` are nil.
///
/// `context` names the dict's place (`snapshots_info.snapshots[1].provider`) in every error.
struct LiteralObject {
    let context: String
    private let entries: [String: PythonLiteral]

    /// Reads `literal` as a dict whose keys are all among `keys`.
    init(_ literal: PythonLiteral, context: String, keys: [String]) throws {
        guard case .dict(let pairs) = literal else { throw CatalogErrors.invalid("\(context): expected a dict") }
        var entries: [String: PythonLiteral] = [:]
        for pair in pairs {
            guard let key = pair.key.stringValue else { throw CatalogErrors.invalid("\(context): non-string key \(pair.key.repr)") }
            guard keys.contains(key) else {
                throw CatalogErrors.invalid("\(context): unknown key '\(CatalogErrors.preview(key))'")
            }
            entries[key] = pair.value
        }
        self.context = context
        self.entries = entries
    }

    /// The value of `key` unless it is missing or `None`.
    func value(_ key: String) -> PythonLiteral? {
        guard let value = entries[key], value != .none else { return nil }
        return value
    }

    /// A `str` field (missing or `None` is nil).
    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else { throw typeError(key, "a str", value) }
        return text
    }

    /// An `int` field (missing or `None` is nil).
    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.intValue else { throw typeError(key, "an int", value) }
        return number
    }

    /// A required `list` field.
    func list(_ key: String) throws -> [PythonLiteral] {
        guard let value = value(key) else { throw CatalogErrors.invalid("\(context): missing '\(key)'") }
        guard case .list(let items) = value else { throw typeError(key, "a list", value) }
        return items
    }

    private func typeError(_ key: String, _ expected: String, _ value: PythonLiteral) -> Error {
        CatalogErrors.invalid("\(context).\(key): expected \(expected), found \(CatalogErrors.preview(value.repr))")
    }
}
