extension PythonLiteral {
    /// The text Python's `repr()` gives for this value, byte for byte (spec §3.1).
    public var repr: String {
        switch self {
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .float(let value): return PythonFloatRepr.repr(value)
        case .string(let text): return PythonStringRepr.repr(text)
        case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let items): return Self.tupleRepr(items)
        case .dict(let entries):
            return "{" + entries.map { "\($0.key.repr): \($0.value.repr)" }.joined(separator: ", ") + "}"
        }
    }

    /// A one-element tuple needs its trailing comma, `(x,)`, or it would read back as `x`.
    private static func tupleRepr(_ items: [PythonLiteral]) -> String {
        if items.count == 1 { return "(" + items[0].repr + ",)" }
        return "(" + items.map(\.repr).joined(separator: ", ") + ")"
    }
}
