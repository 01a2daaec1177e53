/// The one application error type: a stable code, a lowercase message, an optional hint.
///
/// Its `description` is safe to log and print: messages are written without secrets,
/// conninfo strings or SQL text, and callers must keep it that way.
public struct SnapfleetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable machine-readable code.
    public var code: ErrorCode
    /// What went wrong, lowercase, no trailing period.
    public var message: String
    /// What the operator can do about it, if anything.
    public var hint: String?
    /// Whether trying the same thing again later can succeed.
    public var retryable: Bool

    /// Creates an error.
    public init(_ code: ErrorCode, _ message: String, hint: String? = nil, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.hint = hint
        self.retryable = retryable
    }

    /// `message (hint: …)`, one line.
    public var description: String {
        guard let hint else { return message }
        return "\(message) (hint: \(hint))"
    }
}
