/// A secret value (a conninfo password, a key) whose printed forms never show it.
public struct Redacted<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself; read it only where it is used.
    public let value: Value

    /// Wraps a secret.
    public init(_ value: Value) { self.value = value }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
}

extension Redacted: Equatable where Value: Equatable {}

extension Redacted: CustomReflectable {
    /// No children: `dump()` and `Mirror` must not reveal the secret either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension Redacted: Codable where Value: Codable {
    /// Decodes the bare value.
    public init(from decoder: any Decoder) throws {
        self.value = try decoder.singleValueContainer().decode(Value.self)
    }

    /// Encodes the bare value (only used for round-trip key checks, never for display).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
