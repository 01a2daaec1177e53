/// The result of presigning: the URL, and the intermediate steps (for tests and for debugging
/// a signature mismatch). The URL is a bearer credential until it expires.
public struct PresignedRequest: Sendable, Hashable, CustomStringConvertible {
    /// The canonical request; it contains the session token when there is one.
    public let canonicalRequest: String
    /// The string to sign.
    public let stringToSign: String
    /// The lowercase hex signature.
    public let signature: String
    /// The presigned URL: the canonical query string, then `X-Amz-Signature` last.
    public let url: String
    /// The URL without its query, which is safe to print.
    public let printableURL: String

    /// The printable URL only.
    public var description: String { "PresignedRequest(\(printableURL)?<redacted>)" }
}

extension PresignedRequest: CustomReflectable {
    /// The printable URL only.
    public var customMirror: Mirror { Mirror(self, children: ["printableURL": printableURL]) }
}
