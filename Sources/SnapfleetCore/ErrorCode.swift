/// Every stable, machine-readable error code snapfleet uses, on the wire and in its programs.
///
/// Codes are defined here once; their raw values are part of the protocol and never change.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    // Wire: the message itself is wrong.
    /// The frame is not a JSON object with a valid envelope.
    case malformedMessage = "malformed_message"
    /// The envelope names a protocol version this program does not speak.
    case unsupportedVersion = "unsupported_version"
    /// The envelope's `type` is not a message type of the protocol.
    case unknownType = "unknown_type"
    /// The body does not match its message type (unknown key, missing key, wrong type or value).
    case invalidBody = "invalid_body"
    /// The JSON frame is larger than the protocol allows.
    case messageTooLarge = "message_too_large"
    /// The message type may not be sent in this direction or at this point of the conversation.
    case unexpectedMessage = "unexpected_message"

    // Trust and sessions.
    /// The authenticated agent key may not speak for the server it names.
    case notAuthorized = "not_authorized"
    /// The controller does not know this connection yet: the agent must say hello first.
    case helloRequired = "hello_required"
    /// No reply arrived in time.
    case timeout = "timeout"
    /// The named server is not in the controller's configuration.
    case unknownServer = "unknown_server"
    /// The server has no connected agent.
    case agentNotConnected = "agent_not_connected"

    // PostgreSQL and the backup session.
    /// PostgreSQL cannot be reached.
    case postgresUnavailable = "postgres_unavailable"
    /// PostgreSQL answered a query with an error.
    case postgresError = "postgres_error"
    /// PostgreSQL's version is older than snapfleet supports.
    case unsupportedPostgresVersion = "unsupported_postgres_version"
    /// Another backup is running on this server.
    case backupInProgress = "backup_in_progress"
    /// No backup with this id is known to the agent.
    case backupNotFound = "backup_not_found"
    /// The backup exists but is not in a state that allows the request.
    case backupNotRunning = "backup_not_running"

    // Local resources.
    /// A configuration file is missing, unreadable or invalid.
    case invalidConfiguration = "invalid_configuration"
    /// A CURVE key (file or Z85 text) is missing or invalid.
    case invalidKey = "invalid_key"
    /// A file or socket operation failed.
    case ioError = "io_error"
    /// A path, mount or block device could not be resolved.
    case notFound = "not_found"
    /// An HTTP transfer failed.
    case httpError = "http_error"
    /// A bug: something that should not happen did.
    case internalError = "internal_error"
    /// The object (or file) exists and the write was asked never to overwrite it.
    case alreadyExists = "already_exists"
    /// A pre-flight check failed, so the operation was not started.
    case preflightFailed = "preflight_failed"
    /// The catalog refuses the change (a kept backup, a locked snapshot, the minimum redundancy).
    case refused = "refused"
}
