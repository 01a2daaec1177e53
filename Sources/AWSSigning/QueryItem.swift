/// One query parameter, decoded; `value` is nil for a bare name such as `?uploads`.
public struct QueryItem: Sendable, Hashable {
    /// The decoded name.
    public var name: String
    /// The decoded value, or nil when the parameter has no `=` at all.
    public var value: String?

    /// Creates a parameter from decoded text.
    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }

    /// `name=value` (or bare `name`) percent-encoded the SigV4 way.
    var encoded: String {
        guard let value else { return URIEncoding.encode(name) }
        return "\(URIEncoding.encode(name))=\(URIEncoding.encode(value))"
    }

    /// The `(name, value)` pair of the canonical query string, where a bare name has an empty value.
    var canonicalPair: (name: String, value: String) {
        (URIEncoding.encode(name), URIEncoding.encode(value ?? ""))
    }
}
