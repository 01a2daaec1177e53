import SnapfleetCore

/// A message body: Codable with explicit snake_case keys, and able to check its own values.
public protocol WireBody: Codable, Sendable, Equatable {
    /// Refuses values that decode but are not acceptable (ranges, formats, lengths).
    func validate() throws(SnapfleetError)
}

extension WireBody {
    /// Most bodies have nothing to check beyond their types.
    public func validate() throws(SnapfleetError) {}
}

/// The body of messages that carry nothing (`heartbeat`, `agents_list`).
public struct EmptyBody: WireBody {
    /// The empty body.
    public init() {}
}
