import SnapfleetCore

extension RequestURL {
    /// Parses `scheme://host[:port][/path][?query]`; rejects user info, fragments, other
    /// schemes and paths that are not percent-encoded.
    ///
    /// Error messages never quote the URL: its query may carry a signature or a session token.
    public init(parsing text: String) throws(SnapfleetError) {
        guard let schemeEnd = text.firstRange(of: "://") else { throw Self.invalid("no scheme") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard Self.defaultPort(of: scheme) != nil else { throw Self.invalid("scheme is not http or https") }
        guard !text.contains("#") else { throw Self.invalid("it has a fragment") }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let afterAuthority = rest[authority.endIndex...]
        let path = afterAuthority.prefix { $0 != "?" }
        let query = afterAuthority[path.endIndex...].dropFirst()
        let (host, port) = try Self.parseAuthority(authority)
        try Self.checkPath(path)
        self.init(scheme: scheme, host: host, port: port, path: String(path), queryItems: try Self.parseQuery(query))
    }

    /// Splits `host[:port]` (or `[v6]:port`).
    private static func parseAuthority(_ authority: Substring) throws(SnapfleetError) -> (String, Int?) {
        // User info would be a credential in the URL; snapfleet never puts one there.
        guard !authority.contains("@") else { throw invalid("it has user info") }
        let hostEnd: Substring.Index
        if authority.hasPrefix("[") {
            guard let bracket = authority.firstIndex(of: "]") else { throw invalid("unclosed ipv6 address") }
            hostEnd = authority.index(after: bracket)
        } else {
            hostEnd = authority.firstIndex(of: ":") ?? authority.endIndex
        }
        let host = authority[..<hostEnd]
        guard !host.isEmpty else { throw invalid("no host") }
        let portText = authority[hostEnd...]
        guard !portText.isEmpty else { return (String(host), nil) }
        guard portText.first == ":", let port = Int(portText.dropFirst()), (1...65_535).contains(port) else {
            throw invalid("bad port")
        }
        return (String(host), port)
    }

    /// A path on the wire must be printable ASCII without spaces, and every `%` must start an escape.
    private static func checkPath(_ path: Substring) throws(SnapfleetError) {
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw invalid("path is not percent-encoded")
        }
        guard URIEncoding.decode(path) != nil else { throw invalid("path has a malformed percent escape") }
    }

    /// `a=1&b&c=` into items; empty pieces (`a=1&&b=2`) are dropped.
    private static func parseQuery(_ query: Substring) throws(SnapfleetError) -> [QueryItem] {
        var items: [QueryItem] = []
        for piece in query.split(separator: "&") {
            let name = piece.prefix { $0 != "=" }
            let value = name.endIndex == piece.endIndex ? nil : piece[piece.index(after: name.endIndex)...]
            items.append(QueryItem(name: try decodeText(name), value: try value.map { v throws(SnapfleetError) in try decodeText(v) }))
        }
        return items
    }

    /// Percent-decodes one query name or value, which must be UTF-8 text.
    private static func decodeText(_ text: Substring) throws(SnapfleetError) -> String {
        guard let bytes = URIEncoding.decode(text) else { throw invalid("query has a malformed percent escape") }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw invalid("query is not utf-8") }
        return decoded
    }

    /// An invalid-URL error that names only the reason.
    private static func invalid(_ reason: String) -> SnapfleetError {
        SnapfleetError(.invalidConfiguration, "invalid url: \(reason)")
    }
}
