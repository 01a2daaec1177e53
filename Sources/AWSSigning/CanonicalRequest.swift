import SnapfleetCore

/// The canonical request of SigV4 (method, URI, query, headers, signed header names, payload
/// hash, one per line) and the list of signed header names.
public struct CanonicalRequest: Sendable, Hashable {
    /// The canonical request text, hashed into the string to sign.
    public let text: String
    /// The signed header names: lowercase, sorted, joined with `;`.
    public let signedHeaders: String

    /// Builds the canonical request; `headers` must include every header to sign, `Host` too.
    public init(
        method: String, path: String, queryItems: [QueryItem], headers: [HeaderField], payloadHash: String,
        conventions: SigningConventions
    ) throws(SnapfleetError) {
        let canonicalHeaders = Self.canonicalHeaders(headers)
        signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        text = [
            method.uppercased(),
            try CanonicalPath.make(path, conventions: conventions),
            Self.canonicalQuery(queryItems),
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
    }

    /// The signed header names of `headers`: lowercase, unique, sorted, joined with `;`.
    static func signedHeaderNames(_ headers: [HeaderField]) -> String {
        canonicalHeaders(headers).map(\.name).joined(separator: ";")
    }

    /// Encoded `name=value` pairs sorted by name, then value (a bare name signs as `name=`).
    static func canonicalQuery(_ items: [QueryItem]) -> String {
        // Sorting after encoding, by code point, is what the spec asks for: `Param2` < `param1`.
        items.map(\.canonicalPair).sorted { $0 < $1 }.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Lowercased names, sorted; values of repeated names trimmed and joined with `,` in order.
    static func canonicalHeaders(_ headers: [HeaderField]) -> [HeaderField] {
        var values: [String: [String]] = [:]
        for header in headers {
            values[header.name.lowercased(), default: []].append(trimmed(header.value))
        }
        return values.sorted { $0.key < $1.key }.map { HeaderField($0.key, $0.value.joined(separator: ",")) }
    }

    /// Leading and trailing whitespace removed and runs of spaces or tabs collapsed to one space,
    /// even inside quotes (the `get-header-value-trim` vector expects `"a b c"`).
    static func trimmed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
