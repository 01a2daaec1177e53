import SnapfleetCore

/// `error`: a request failed. Carries a stable code, a human message and whether a retry can help.
public struct ErrorBody: WireBody {
    /// The stable machine-readable code.
    public var code: ErrorCode
    /// What went wrong.
    public var message: String
    /// What the operator can do about it.
    public var hint: String?
    /// Whether the same request may succeed later.
    public var retryable: Bool

    /// Creates an error body.
    public init(code: ErrorCode, message: String, hint: String? = nil, retryable: Bool) {
        self.code = code
        self.message = message
        self.hint = hint
        self.retryable = retryable
    }

    /// The body for an application error.
    public init(_ error: SnapfleetError) {
        self.init(
            code: error.code, message: Wire.sanitized(error.message), hint: error.hint.map { Wire.sanitized($0) },
            retryable: error.retryable)
    }

    /// The application error this body describes.
    public var snapfleetError: SnapfleetError {
        SnapfleetError(code, message, hint: hint, retryable: retryable)
    }

    enum CodingKeys: String, CodingKey {
        case code, message, hint, retryable
    }

    /// Bounded text.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(message, field: "message")
        if let hint { try Wire.checkText(hint, field: "hint") }
    }
}
