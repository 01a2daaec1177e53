import SnapfleetCore

/// What the agent wants WAL capabilities for.
public enum WALPurpose: String, Codable, Sendable, Equatable {
    /// Uploading: one `PUT` (with `If-None-Match: *` signed) and one `HEAD` URL per file.
    case archive
    /// Fetching: `GET` URLs for every key the file may be stored under (each compression).
    case restore
}

/// How WAL bytes travel for a server's destination.
public enum WALTransport: String, Codable, Sendable, Equatable {
    /// Straight between the agent and the object store, with the URLs given.
    case direct
    /// Through the controller (`file://` destinations): `wal_put` and `wal_get` carry the bytes.
    case controller
}

/// `wal_urls_request`: capabilities for these WAL files (the agent names the segments it expects next).
public struct WALURLsRequest: WireBody {
    /// What the URLs are for.
    public var purpose: WALPurpose
    /// WAL file names: segments, `.history`, `.backup` and `.partial` files as PostgreSQL names them.
    public var names: [String]

    /// Creates a request.
    public init(purpose: WALPurpose, names: [String]) {
        self.purpose = purpose
        self.names = names
    }

    /// 1–64 names, each a WAL file name (never a path).
    public func validate() throws(SnapfleetError) {
        try Wire.checkRange(names.count, 1...ProtocolLimits.maxWALNames, field: "names.count")
        for name in names { try Wire.checkWALArchiveName(name, field: "names") }
    }
}

/// `wal_urls`: the answer: the transport, the server's compression, and the URLs.
public struct WALURLs: WireBody {
    /// `direct` (use `urls`) or `controller` (`urls` is empty: send bytes to the controller).
    public var transport: WALTransport
    /// How the agent must compress what it archives: `none`, `gzip` or `zstd`.
    public var compression: String
    /// The capabilities, in the order of the names asked for.
    public var urls: [WALURL]

    /// Creates an answer.
    public init(transport: WALTransport, compression: String, urls: [WALURL]) {
        self.transport = transport
        self.compression = compression
        self.urls = urls
    }

    /// A known compression, at most 4 URLs per name asked for, each valid.
    public func validate() throws(SnapfleetError) {
        try Wire.checkCompression(compression, field: "compression")
        try Wire.checkRange(urls.count, 0...(4 * ProtocolLimits.maxWALNames), field: "urls.count")
        for url in urls { try url.validate() }
    }
}

/// One object, one method, for a limited time: a presigned URL.
public struct WALURL: WireBody, CustomStringConvertible {
    /// The WAL file it is for.
    public var name: String
    /// The object key (for logs and errors; the URL already names it).
    public var key: String
    /// `PUT`, `GET` or `HEAD`.
    public var method: String
    /// The presigned URL: a capability, never logged.
    public var url: String
    /// Headers that are part of the signature and must be sent as given (`if-none-match: *`).
    public var headers: [String: String]
    /// When the URL stops working (RFC 3339, UTC).
    public var expiresAt: String

    /// Creates a URL entry.
    public init(name: String, key: String, method: String, url: String, headers: [String: String], expiresAt: String) {
        self.name = name
        self.key = key
        self.method = method
        self.url = url
        self.headers = headers
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case name, key, method, url, headers
        case expiresAt = "expires_at"
    }

    /// The entry without its signature.
    public var description: String { "\(method) \(key) (expires \(expiresAt))" }

    /// A WAL name, a bounded key, a known method, an http(s) URL, at most 8 plain headers.
    public func validate() throws(SnapfleetError) {
        try Wire.checkWALArchiveName(name, field: "urls.name")
        try Wire.checkText(key, field: "urls.key", maxLength: 1024)
        guard ["PUT", "GET", "HEAD"].contains(method) else { throw SnapfleetError(.invalidBody, "urls.method must be PUT, GET or HEAD") }
        try Wire.checkText(url, field: "urls.url", maxLength: 8192)
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw SnapfleetError(.invalidBody, "urls.url must be an http(s) URL")
        }
        try Wire.checkRange(headers.count, 0...8, field: "urls.headers.count")
        for (name, value) in headers {
            try Wire.checkText(name, field: "urls.headers name", maxLength: 64)
            try Wire.checkText(value, field: "urls.headers value", maxLength: 256)
        }
        try Wire.checkText(expiresAt, field: "urls.expires_at", maxLength: 64)
    }
}

/// `wal_put`: one WAL file for a controller-side destination; its bytes (compressed as named)
/// follow the envelope as one binary frame.
public struct WALPut: WireBody {
    /// The WAL file.
    public var name: String
    /// How the attached bytes are compressed.
    public var compression: String
    /// MD5 of the attached bytes (hex): checked on arrival and compared with a stored copy.
    public var md5: String

    /// Creates a put.
    public init(name: String, compression: String, md5: String) {
        self.name = name
        self.compression = compression
        self.md5 = md5
    }

    /// A WAL name, a known compression, 32 hex digits.
    public func validate() throws(SnapfleetError) {
        try Wire.checkWALArchiveName(name, field: "name")
        try Wire.checkCompression(compression, field: "compression")
        try Wire.checkHex(md5, field: "md5", length: 32)
    }
}

/// `wal_stored`: the answer to `wal_put` and `wal_push`: the file is durable in the archive.
public struct WALStored: WireBody {
    /// The WAL file.
    public var name: String
    /// The object key it is stored under.
    public var key: String
    /// True when the archive already held the same content (nothing was written).
    public var alreadyArchived: Bool

    /// Creates an answer.
    public init(name: String, key: String, alreadyArchived: Bool) {
        self.name = name
        self.key = key
        self.alreadyArchived = alreadyArchived
    }

    enum CodingKeys: String, CodingKey {
        case name, key
        case alreadyArchived = "already_archived"
    }

    /// A WAL name and a bounded key.
    public func validate() throws(SnapfleetError) {
        try Wire.checkWALArchiveName(name, field: "name")
        try Wire.checkText(key, field: "key", maxLength: 1024)
    }
}

/// `wal_get` (agent → controller) and `wal_fetch` (`wal-fetch` → agent): one WAL file, please.
public struct WALFileRequest: WireBody {
    /// The WAL file.
    public var name: String
    /// `wal_fetch` only: where PostgreSQL wants it (`%p`, absolute); the agent writes it there itself
    /// when it is a file of a data directory's `pg_wal`, sparing a copy through the socket.
    public var destination: String?

    /// Creates a request.
    public init(name: String, destination: String? = nil) {
        self.name = name
        self.destination = destination
    }

    /// A WAL name, and an absolute destination path if any.
    public func validate() throws(SnapfleetError) {
        try Wire.checkWALArchiveName(name, field: "name")
        if let destination { try Wire.checkPath(destination, field: "destination") }
    }
}

/// `wal_data`: the answer to `wal_get` and `wal_fetch`; when `found`, the bytes follow as one frame.
public struct WALData: WireBody {
    /// The WAL file.
    public var name: String
    /// Whether the archive has it (false: the bytes are absent; `wal-fetch` exits 1).
    public var found: Bool
    /// How the attached bytes are compressed (`none` from the agent, which decompresses).
    public var compression: String
    /// True when the agent wrote the file at the request's destination (no bytes follow).
    public var delivered: Bool?

    /// Creates an answer.
    public init(name: String, found: Bool, compression: String, delivered: Bool? = nil) {
        self.name = name
        self.found = found
        self.compression = compression
        self.delivered = delivered
    }

    /// A WAL name and a known compression.
    public func validate() throws(SnapfleetError) {
        try Wire.checkWALArchiveName(name, field: "name")
        try Wire.checkCompression(compression, field: "compression")
    }
}

/// `wal_push`: `snapfleet-agent wal-push` hands PostgreSQL's file to the local agent.
public struct WALPush: WireBody {
    /// The file's absolute path (the agent checks it lies in the data directory's `pg_wal`).
    public var path: String

    /// Creates a push.
    public init(path: String) { self.path = path }

    /// An absolute path whose last component is a WAL file name.
    public func validate() throws(SnapfleetError) {
        try Wire.checkPath(path, field: "path")
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        try Wire.checkWALArchiveName(name, field: "path (file name)")
    }
}
