import SnapfleetCore

/// A backup destination URL split into its parts: `s3://bucket/path` or `file:///dir/path`.
public struct ObjectStoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// The kind of store a URL names.
    public enum Scheme: String, Sendable, Equatable {
        /// Amazon S3 or an S3-compatible endpoint.
        case s3
        /// A local (or mounted) directory.
        case file
    }

    /// `s3` or `file`.
    public let scheme: Scheme
    /// The bucket (S3) or nil (file).
    public let bucket: String?
    /// The key prefix inside the bucket (S3, without a leading `/`, possibly empty) or the absolute directory (file).
    public let path: String

    /// Parses a destination URL; anything but `s3://BUCKET[/PATH]` or `file:///ABSOLUTE/PATH` is refused.
    public init(parsing url: String) throws(SnapfleetError) {
        if url.hasPrefix("s3://") {
            (scheme, bucket, path) = (.s3, try Self.bucket(of: url), Self.s3Path(of: url))
        } else if url.hasPrefix("file://") {
            (scheme, bucket, path) = (.file, nil, try Self.filePath(of: url))
        } else {
            throw Self.invalid(url, "the scheme must be s3:// or file://")
        }
    }

    /// Where the store's keys start: the path inside the bucket (S3) or the directory (file).
    public var root: String { path }

    /// The URL again, in its canonical form.
    public var description: String {
        switch scheme {
        case .s3: path.isEmpty ? "s3://\(bucket ?? "")" : "s3://\(bucket ?? "")/\(path)"
        case .file: "file://\(path)"
        }
    }

    /// barman-cloud's rule: the netloc is the bucket, and it must not be empty.
    private static func bucket(of url: String) throws(SnapfleetError) -> String {
        let rest = url.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw invalid(url, "the bucket name is empty") }
        guard !bucket.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" || $0.isWhitespace }) else {
            throw invalid(url, "the bucket name '\(bucket)' is not valid")
        }
        return String(bucket)
    }

    /// barman-cloud's rule: the URL path with its leading slashes stripped (`path.lstrip("/")`).
    private static func s3Path(of url: String) -> String {
        let rest = url.dropFirst("s3://".count)
        return String(rest.drop { $0 != "/" }.drop { $0 == "/" })
    }

    /// `file:///abs/dir` → `/abs/dir`; a host part (`file://host/dir`) or a relative path is refused.
    private static func filePath(of url: String) throws(SnapfleetError) -> String {
        let path = String(url.dropFirst("file://".count))
        guard path.hasPrefix("/") else { throw invalid(url, "a file URL needs an absolute path (file:///dir)") }
        guard !path.utf8.contains(0) else { throw invalid(url, "the path contains a NUL byte") }
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed
    }

    /// The error for a URL that cannot be used.
    private static func invalid(_ url: String, _ reason: String) -> SnapfleetError {
        SnapfleetError(
            .invalidConfiguration, "invalid destination url '\(ObjectKey.printable(url))': \(reason)",
            hint: "use s3://bucket/path or file:///absolute/path")
    }
}
