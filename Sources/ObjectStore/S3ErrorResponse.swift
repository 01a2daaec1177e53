import CloudXML
import HTTPClient
import SnapfleetCore

/// An S3 error document (`<Error><Code>…</Code><Message>…</Message></Error>`), reduced to what is
/// safe to show: AWS also sends the string to sign and the signature provided, which are dropped.
struct S3ErrorResponse: Sendable, Equatable {
    /// HTTP status.
    var status: Int
    /// S3's error code (`NoSuchKey`, `SignatureDoesNotMatch`) or a stand-in for bodiless replies.
    var code: String
    /// S3's message, shortened and stripped of control characters; may be empty.
    var message: String

    /// Reads the error document of `response`; HEAD replies and non-XML bodies get a code from the status.
    init(_ response: HTTPResponse) {
        status = response.status
        let tree = try? XMLTree.parse(response.body)
        let document = tree?.name == "Error" ? tree : tree?.child("Error")
        code = document?.value("Code").flatMap { $0.isEmpty ? nil : $0 } ?? Self.fallbackCode(response.status)
        message = Self.clean(document?.value("Message") ?? "")
    }

    /// Whether the error means "no such object".
    var isMissingKey: Bool { code == "NoSuchKey" || (status == 404 && code == "NotFound") }

    /// Whether the same request may succeed later: 5xx, 429 and throttling codes; never another 4xx.
    var isRetryable: Bool {
        status >= 500 || status == 429 || Self.throttlingCodes.contains(code)
    }

    /// `SignatureDoesNotMatch (http 403): the message`.
    var summary: String {
        message.isEmpty ? "\(code) (http \(status))" : "\(code) (http \(status)): \(message)"
    }

    /// Codes S3 (and S3-compatible stores) use to ask clients to slow down.
    static let throttlingCodes: Set<String> = [
        "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
        "RequestThrottled", "ServiceUnavailable", "InternalError",
    ]

    /// A code for replies without an error document (HEAD has no body).
    private static func fallbackCode(_ status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 412: "PreconditionFailed"
        case 429: "TooManyRequests"
        case 503: "ServiceUnavailable"
        default: status >= 500 ? "InternalError" : "HTTP\(status)"
        }
    }

    /// At most 200 printable characters of S3's message.
    private static func clean(_ text: String) -> String {
        let printable = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }
        return String(String.UnicodeScalarView(printable.prefix(200)))
    }
}
