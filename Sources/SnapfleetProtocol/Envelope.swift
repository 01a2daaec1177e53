import SnapfleetCore

/// One protocol message as it travels: version, id, type, the id it answers, and its body.
///
/// On the wire it is one JSON object, `{"protocol":1,"id":…,"type":…,"in_reply_to":…,"body":{…}}`,
/// optionally followed by binary frames for bulk bytes.
public struct Envelope: Sendable, Equatable {
    /// This message's id, unique per sender.
    public var id: MessageID
    /// For replies: the id of the request answered.
    public var inReplyTo: MessageID?
    /// The typed message.
    public var message: Message

    /// Creates an envelope with a fresh id.
    public init(id: MessageID = .random(), inReplyTo: MessageID? = nil, _ message: Message) {
        self.id = id
        self.inReplyTo = inReplyTo
        self.message = message
    }

    /// A reply to the request with id `request`.
    public static func reply(to request: MessageID, _ message: Message) -> Envelope {
        Envelope(inReplyTo: request, message)
    }

    /// An error reply to the request with id `request` (or an unanswerable message, if nil).
    public static func error(replyingTo request: MessageID?, _ error: SnapfleetError) -> Envelope {
        Envelope(inReplyTo: request, .error(ErrorBody(error)))
    }
}

/// An inbound frame that could not be accepted, with what is needed to answer it.
public struct InboundError: Error, Sendable, Equatable {
    /// Why it was refused.
    public var error: SnapfleetError
    /// The id of the refused message, when it could be read: the error reply's `in_reply_to`.
    public var requestID: MessageID?

    /// Creates the refusal.
    public init(_ error: SnapfleetError, requestID: MessageID?) {
        self.error = error
        self.requestID = requestID
    }
}
