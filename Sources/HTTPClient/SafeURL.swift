/// The printable form of a URL: `scheme://host[:port]/path`, without user info, query or
/// fragment, because presigned URLs carry their signature (a secret) in the query.
enum SafeURL {
    /// `url` reduced to scheme, host, port and path.
    static func printable(_ url: String) -> String {
        let withoutQuery = url.prefix { $0 != "?" && $0 != "#" }
        guard let schemeEnd = withoutQuery.firstRange(of: "://") else { return String(withoutQuery) }
        let scheme = withoutQuery[..<schemeEnd.lowerBound]
        let rest = withoutQuery[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let path = rest[authority.endIndex...]
        // User info (`user:password@`) is a secret too.
        let host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        return "\(scheme)://\(host)\(path)"
    }

    /// `text` (e.g. curl's error message) with `url`'s secret parts replaced, in case curl
    /// quoted the URL.
    static func scrub(_ text: String, url: String) -> String {
        var scrubbed = text.replacingAll(url, with: printable(url))
        if let query = url.firstIndex(of: "?") {
            scrubbed = scrubbed.replacingAll(String(url[query...]), with: "?<redacted>")
        }
        return scrubbed
    }
}

extension String {
    /// Every occurrence of `target` replaced (a Foundation-free `replacingOccurrences`).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
