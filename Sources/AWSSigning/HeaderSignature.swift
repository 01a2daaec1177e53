/// The result of signing a request for header authentication: the headers to add, and the
/// intermediate steps (for tests and for debugging a signature mismatch).
public struct HeaderSignature: Sendable, Hashable, CustomStringConvertible {
    /// The canonical request; it contains the session token when there is one.
    public let canonicalRequest: String
    /// The string to sign.
    public let stringToSign: String
    /// The lowercase hex signature.
    public let signature: String
    /// Headers to add to the request: `X-Amz-Date`, `X-Amz-Security-Token` (temporary
    /// credentials), `x-amz-content-sha256` (S3) and `Authorization`.
    public let headers: [HeaderField]

    /// The added header names only.
    public var description: String {
        "HeaderSignature(headers: \(headers.map(\.name).joined(separator: ", ")))"
    }
}

extension HeaderSignature: CustomReflectable {
    /// The added headers, with sensitive values hidden; not the canonical request, which may hold the token.
    public var customMirror: Mirror { Mirror(self, children: ["headers": headers]) }
}
