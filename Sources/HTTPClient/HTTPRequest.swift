#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One HTTP request: what to send, where the response body goes, and how long to wait.
public struct HTTPRequest: Sendable {
    /// Where the request body comes from.
    public enum Body: Sendable {
        /// No body (`Content-Length: 0` for PUT and POST).
        case empty
        /// Bytes in memory.
        case bytes([UInt8])
        /// Bytes in memory, as `Data`.
        case data(Data)
        /// A regular file, streamed from disk into curl's buffer (one copy, for WAL segments).
        case file(path: String)
    }

    /// Where the response body goes.
    public enum ResponseBody: Sendable {
        /// Into `HTTPResponse.body`, up to `maxResponseBytes`.
        case memory
        /// Into this file (created mode 0600 or truncated), but only for a 2xx status: other
        /// statuses keep their (error document) body in memory and leave the file untouched.
        /// The file is removed if the transfer fails part-way.
        case file(path: String)
    }

    /// The method.
    public var method: HTTPMethod
    /// The absolute `http://` or `https://` URL; its query may hold secrets and is never printed.
    public var url: String
    /// Header fields sent as given; they replace any curl would add of the same name.
    public var headers: HTTPHeaders
    /// The request body.
    public var body: Body
    /// Where the response body goes.
    public var responseBody: ResponseBody
    /// The longest wait for the TCP (and TLS) connection; default 10 s.
    public var connectTimeout: Duration
    /// The longest the whole transfer may take, connection included; default 5 min.
    public var timeout: Duration
    /// The largest body kept in memory before the transfer fails; default 64 MiB.
    public var maxResponseBytes: Int

    /// Creates a request; every part but the method and URL has a default.
    public init(
        method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: Body = .empty,
        responseBody: ResponseBody = .memory, connectTimeout: Duration = .seconds(10),
        timeout: Duration = .seconds(300), maxResponseBytes: Int = 64 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.responseBody = responseBody
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }
}
