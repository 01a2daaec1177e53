import SnapfleetCore

/// An http(s) URL split into the parts SigV4 signs: scheme, host, port, path (as sent) and
/// decoded query items.
///
/// Written and parsed here rather than with Foundation's `URLComponents`, whose percent-encoding
/// of query values differs from SigV4's and would make the signed and the sent query disagree.
public struct RequestURL: Sendable, Hashable {
    /// `http` or `https`, lowercase.
    public var scheme: String
    /// The host name or address, lowercase; an IPv6 address keeps its brackets.
    public var host: String
    /// The port, or nil for the scheme's default.
    public var port: Int?
    /// The path exactly as it goes on the request line, percent-encoded (e.g. `/wal/0000%3A1`).
    public var path: String
    /// The query parameters in order, decoded.
    public var queryItems: [QueryItem]

    /// Creates a URL from its parts; `path` must already be percent-encoded
    /// (`URIEncoding.encode(key, keepingSlashes: true)` for an S3 object key).
    public init(scheme: String, host: String, port: Int? = nil, path: String = "/", queryItems: [QueryItem] = []) {
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        self.port = port == Self.defaultPort(of: self.scheme) ? nil : port
        self.path = path.isEmpty ? "/" : path
        self.queryItems = queryItems
    }

    /// The port the scheme implies (443 for https, 80 for http).
    static func defaultPort(of scheme: String) -> Int? {
        switch scheme {
        case "https": 443
        case "http": 80
        default: nil
        }
    }

    /// The `Host` header value: the host, plus `:port` when it is not the default, as curl sends it.
    public var hostHeader: String {
        guard let port else { return host }
        return "\(host):\(port)"
    }

    /// `scheme://host[:port]`, the part of the URL that is never secret.
    public var origin: String { "\(scheme)://\(hostHeader)" }

    /// The whole URL, with the query items encoded the SigV4 way.
    public var string: String {
        guard !queryItems.isEmpty else { return origin + path }
        return origin + path + "?" + queryItems.map(\.encoded).joined(separator: "&")
    }
}
