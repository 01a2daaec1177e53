import HTTPClient

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Google's JSON error document (`{"error": {"code", "message", "errors": [{"reason"}], "status"}}`),
/// read leniently: a proxy's HTML page still gives a summary.
public struct GoogleErrorReply: Sendable {
    /// The HTTP status.
    public let status: Int
    /// Google's message, or the start of the body.
    public let message: String
    /// The first `errors[].reason` (`notFound`, `alreadyExists`, `rateLimitExceeded`, …) or `status`.
    public let reason: String?

    /// Reads the document of `response`.
    public init(_ response: HTTPResponse) {
        status = response.status
        struct Document: Decodable {
            struct Body: Decodable {
                struct Item: Decodable { var reason: String? }
                var message: String?
                var status: String?
                var errors: [Item]?
            }
            var error: Body?
        }
        let document = try? JSONDecoder().decode(Document.self, from: Data(response.body))
        message = document?.error?.message ?? String(response.text.prefix(200))
        reason = document?.error?.errors?.first?.reason ?? document?.error?.status
    }

    /// `http 404 notFound: The resource … was not found`.
    public var summary: String {
        "http \(status)\(reason.map { " \($0)" } ?? ""): \(message.isEmpty ? "no message" : String(message.prefix(300)))"
    }
}
