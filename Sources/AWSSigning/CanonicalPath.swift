import SnapfleetCore

/// The canonical URI of a request: its path, normalized and encoded according to the service.
enum CanonicalPath {
    /// The canonical form of `path` (as sent) under `conventions`.
    static func make(_ path: String, conventions: SigningConventions) throws(SnapfleetError) -> String {
        let normalized = conventions.normalizesPath ? removingDotSegments(path) : path
        let nonEmpty = normalized.isEmpty ? "/" : normalized
        if conventions.encodesPathTwice { return URIEncoding.encode(nonEmpty, keepingSlashes: true) }
        return try reencodingSegments(nonEmpty)
    }

    /// RFC 3986 section 5.2.4 dot-segment removal, plus the collapse of repeated slashes AWS
    /// requires; a trailing slash survives only if a segment does (as in botocore, so
    /// `/a/b/..` becomes `/a`).
    static func removingDotSegments(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." {
                _ = segments.popLast()
            } else {
                segments.append(segment)
            }
        }
        let leading = path.hasPrefix("/") ? "/" : ""
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return leading + segments.joined(separator: "/") + trailing
    }

    /// Each segment decoded and encoded again, so `%3a`, `%3A` and `:` all sign as `%3A` — what
    /// S3 computes from the object key — while an encoded slash (`%2F`) stays inside its segment.
    static func reencodingSegments(_ path: String) throws(SnapfleetError) -> String {
        var segments: [String] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard let bytes = URIEncoding.decode(segment) else {
                throw SnapfleetError(.internalError, "request path has a malformed percent escape")
            }
            segments.append(URIEncoding.encode(bytes: bytes, keepingSlashes: false))
        }
        return segments.joined(separator: "/")
    }
}
