import SnapfleetCore

/// An AWS access key pair, with the session token of temporary credentials, supplied by the caller.
///
/// This module never looks for credentials itself (no environment, no files, no instance
/// metadata): whoever holds them passes them in. No printed form shows the secret or the token.
public struct AWSCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The access key id (`AKIA…`, `ASIA…`); it names the key and is not secret.
    public let accessKeyID: String
    /// The secret access key.
    public let secretAccessKey: Redacted<String>
    /// The session token of temporary (STS) credentials, if any.
    public let sessionToken: Redacted<String>?

    /// Wraps credentials obtained elsewhere.
    public init(accessKeyID: String, secretAccessKey: Redacted<String>, sessionToken: Redacted<String>? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The access key id, with the secret and token shown only as `<redacted>`.
    public var description: String {
        let token = sessionToken == nil ? "none" : "<redacted>"
        return "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>, sessionToken: \(token))"
    }

    /// Same as `description`.
    public var debugDescription: String { description }
}

extension AWSCredentials: CustomReflectable {
    /// Only the access key id: `dump()` and `Mirror` must not reach the secret either.
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID]) }
}
