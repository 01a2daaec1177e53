/// The body of a request to sign, or how its hash is known.
public enum RequestPayload: Sendable, Hashable {
    /// A body held in memory (empty for GET, HEAD and DELETE).
    case bytes([UInt8])
    /// A body streamed from elsewhere (a file) whose SHA-256 the caller computed: lowercase hex.
    case sha256(String)
    /// A body left out of the signature (`UNSIGNED-PAYLOAD`); S3 only, over TLS.
    case unsigned

    /// No body.
    public static let empty = RequestPayload.bytes([])

    /// The literal S3 accepts in place of a payload hash.
    static let unsignedLiteral = "UNSIGNED-PAYLOAD"
}
