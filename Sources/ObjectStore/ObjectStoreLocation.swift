import SnapfleetCore

/// A backup destination URL split into its parts: `s3://bucket/path`, `gs://bucket/path`,
/// `https://account.blob.core.windows.net/container/path` or `file:///dir/path`.
public struct ObjectStoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// The kind of store a URL names.
    public enum Scheme: String, Sendable, Equatable {
        /// Amazon S3 or an S3-compatible endpoint.
        case s3
        /// Google Cloud Storage.
        case gs
        /// Azure Blob Storage (`https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH`).
        case azure
        /// A local (or mounted) directory.
        case file
    }

    /// The kind of store.
    public let scheme: Scheme
    /// The bucket (S3, GCS), the container (Azure) or nil (file).
    public let bucket: String?
    /// The storage account (Azure), else nil.
    public let account: String?
    /// The key prefix inside the bucket (S3, without a leading `/`, possibly empty) or the absolute directory (file).
    public let path: String

    /// Parses a destination URL; anything but `s3://BUCKET[/PATH]`, `gs://BUCKET[/PATH]`,
    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER[/PATH]` or `file:///ABSOLUTE/PATH` is refused.
    public init(parsing url: String) throws(SnapfleetError) {
        if url.hasPrefix("s3://") {
            (scheme, account, bucket, path) = (.s3, nil, try Self.bucket(of: url, scheme: "s3://"), Self.s3Path(of: url))
        } else if url.hasPrefix("gs://") {
            // barman-cloud's rule for GCS: leading and trailing slashes stripped.
            let path = Self.s3Path(of: url).trimmingSuffix("/")
            (scheme, account, bucket, self.path) = (.gs, nil, try Self.bucket(of: url, scheme: "gs://"), path)
        } else if url.hasPrefix("https://"), let azure = try Self.azure(url) {
            (scheme, account, bucket, path) = (.azure, azure.account, azure.container, azure.path)
        } else if url.hasPrefix("file://") {
            (scheme, account, bucket, path) = (.file, nil, nil, try Self.filePath(of: url))
        } else {
            throw Self.invalid(url, "the scheme must be s3://, gs://, https://ACCOUNT.blob.core.windows.net/ or file://")
        }
    }

    /// Where the store's keys start: the path inside the bucket (S3) or the directory (file).
    public var root: String { path }

    /// The URL again, in its canonical form.
    public var description: String {
        switch scheme {
        case .s3: path.isEmpty ? "s3://\(bucket ?? "")" : "s3://\(bucket ?? "")/\(path)"
        case .gs: path.isEmpty ? "gs://\(bucket ?? "")" : "gs://\(bucket ?? "")/\(path)"
        case .azure:
            "https://\(account ?? "").blob.core.windows.net/\(bucket ?? "")" + (path.isEmpty ? "" : "/\(path)")
        case .file: "file://\(path)"
        }
    }

    /// barman-cloud's rule: the netloc is the bucket, and it must not be empty.
    private static func bucket(of url: String, scheme: String) throws(SnapfleetError) -> String {
        let rest = url.dropFirst(scheme.count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw invalid(url, "the bucket name is empty") }
        guard !bucket.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" || $0.isWhitespace }) else {
            throw invalid(url, "the bucket name '\(bucket)' is not valid")
        }
        return String(bucket)
    }

    /// barman-cloud's rule: the URL path with its leading slashes stripped (`path.lstrip("/")`).
    private static func s3Path(of url: String) -> String {
        let rest = url.dropFirst(5)  // "s3://" and "gs://" alike
        return String(rest.drop { $0 != "/" }.drop { $0 == "/" })
    }

    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH` → its parts; nil for another host.
    private static func azure(_ url: String) throws(SnapfleetError) -> (account: String, container: String, path: String)? {
        let rest = url.dropFirst("https://".count)
        let host = rest.prefix { $0 != "/" }
        let suffix = ".blob.core.windows.net"
        guard host.hasSuffix(suffix) else { return nil }
        let account = String(host.dropLast(suffix.count))
        guard account.wholeMatch(of: /[a-z0-9]{3,24}/) != nil else { throw invalid(url, "'\(account)' is not a storage account name") }
        let segments = rest.dropFirst(host.count).split(separator: "/")
        guard let container = segments.first.map(String.init), container.wholeMatch(of: /[a-z0-9](-?[a-z0-9]){2,62}/) != nil else {
            throw invalid(url, "the url names no valid container")
        }
        return (account, container, segments.dropFirst().joined(separator: "/"))
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
            hint: "use s3://bucket/path, gs://bucket/path, https://account.blob.core.windows.net/container/path or file:///absolute/path")
    }
}

extension String {
    /// The string without any run of `character` at its end.
    func trimmingSuffix(_ character: Character) -> String {
        var result = self
        while result.last == character { result.removeLast() }
        return result
    }
}
