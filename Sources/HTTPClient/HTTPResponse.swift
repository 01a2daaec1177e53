/// A complete HTTP response; any status, including 4xx and 5xx, is a response, not an error.
public struct HTTPResponse: Sendable {
    /// The final status code (after any 1xx interim responses).
    public var status: Int
    /// The final response's header fields, in order.
    public var headers: HTTPHeaders
    /// The body, unless it went to the request's file or a streaming consumer (then empty).
    public var body: [UInt8]
    /// Whether the body went to the file named by the request's `responseBody`.
    public var bodyWrittenToFile: Bool

    /// Creates a response.
    public init(status: Int, headers: HTTPHeaders, body: [UInt8], bodyWrittenToFile: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyWrittenToFile = bodyWrittenToFile
    }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body decoded as UTF-8 (invalid bytes replaced), for error documents and JSON.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
