/// The protocol's version and size limits, defined once (PROTOCOL.md documents them).
public enum ProtocolLimits {
    /// The protocol version this build speaks; a message with another is refused.
    public static let version = 1
    /// The largest JSON envelope frame answered normally; larger ones get `message_too_large`.
    public static let maxEnvelopeBytes = 256 * 1024
    /// The largest frame the transport accepts at all (`ZMQ_MAXMSGSIZE`); a peer that sends
    /// more is disconnected by ZeroMQ before the bytes are buffered.
    public static let maxFrameBytes = 64 * 1024 * 1024
    /// The most frames one message may have (the envelope plus binary frames).
    public static let maxFrames = 16
    /// The longest message id.
    public static let maxMessageIDLength = 64
    /// The longest free-text field (labels, error messages).
    public static let maxTextLength = 4096
    /// The longest `backup_label` / `tablespace_map` text carried in a reply.
    public static let maxLabelFileLength = 64 * 1024
    /// Names per `wal_urls_request`: 64 files × 3 URLs of under 1 KiB fit one envelope.
    public static let maxWALNames = 64
}
