/// One HTTP header as a name and a value; names compare case-insensitively when signing.
public struct HeaderField: Sendable, Hashable, CustomStringConvertible {
    /// The header name as it will be sent.
    public var name: String
    /// The header value as it will be sent.
    public var value: String

    /// Creates a header.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// Whether the value is a credential (a session token, or a signature that can be replayed
    /// for minutes), so printed forms must hide it.
    public var isSensitive: Bool {
        ["authorization", "x-amz-security-token"].contains(name.lowercased())
    }

    /// `name: value`, or `name: <redacted>` for a sensitive header.
    public var description: String { "\(name): \(isSensitive ? "<redacted>" : value)" }
}

extension HeaderField: CustomReflectable {
    /// Hides a sensitive value from `dump()` and `Mirror` too.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "value": isSensitive ? "<redacted>" : value])
    }
}
