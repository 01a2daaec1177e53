/// A value of the Python literal subset that `backup.info` uses (`repr()` to write, `ast.literal_eval()` to read).
///
/// Dictionaries keep their insertion order, as Python's do (barman writes keys in that order, §3.3).
public indirect enum PythonLiteral: Sendable, Hashable {
    /// `None`.
    case none
    /// `True` or `False`.
    case bool(Bool)
    /// An `int` (snapfleet supports the 64-bit range; larger literals are refused when parsed).
    case int(Int)
    /// A `float`.
    case float(Double)
    /// A `str`.
    case string(String)
    /// A `list`.
    case list([PythonLiteral])
    /// A `tuple`.
    case tuple([PythonLiteral])
    /// A `dict`, in insertion order.
    case dict([DictEntry])

    /// One key/value pair of a `dict`.
    public struct DictEntry: Sendable, Hashable {
        /// The key.
        public var key: PythonLiteral
        /// The value.
        public var value: PythonLiteral

        /// Creates a pair.
        public init(_ key: PythonLiteral, _ value: PythonLiteral) {
            self.key = key
            self.value = value
        }
    }

    /// A `dict` with string keys, in the given order.
    public static func dict(_ pairs: KeyValuePairs<String, PythonLiteral>) -> PythonLiteral {
        .dict(pairs.map { DictEntry(.string($0.key), $0.value) })
    }

    /// `str` or `None`.
    public static func optional(_ value: String?) -> PythonLiteral {
        value.map(PythonLiteral.string) ?? .none
    }

    /// `int` or `None`.
    public static func optional(_ value: Int?) -> PythonLiteral {
        value.map(PythonLiteral.int) ?? .none
    }

    /// The value for a string key of a `dict`, or nil (also for any other kind of value).
    public subscript(key: String) -> PythonLiteral? {
        guard case .dict(let entries) = self else { return nil }
        return entries.last { $0.key == .string(key) }?.value
    }

    /// The text of a `str`, else nil.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The value of an `int`, else nil.
    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The value of a `float` or `int` (as Python's arithmetic would widen it), else nil.
    public var doubleValue: Double? {
        switch self {
        case .float(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    /// Whether this is `None`.
    public var isNone: Bool { self == .none }
}
