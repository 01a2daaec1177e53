import Digests
import SnapfleetCore

/// The SigV4 signing key of one day, region and service (kDate → kRegion → kService →
/// kSigning); valid for that whole UTC day, so signers keep it instead of deriving it per request.
public struct SigningKey: Sendable, CustomStringConvertible {
    /// The scope: `yyyyMMdd/region/service/aws4_request`.
    public let scope: String
    /// The day the key is valid for, `yyyyMMdd`.
    public let day: String
    /// The derived key; as secret as the secret access key for that day and scope.
    let bytes: [UInt8]

    /// Derives the key from the secret access key.
    public init(secretAccessKey: Redacted<String>, day: String, region: String, service: String) throws(SnapfleetError) {
        var key = Array("AWS4\(secretAccessKey.value)".utf8)
        for part in [day, region, service, "aws4_request"] {
            key = try Hashing.hmac(part.utf8, key: key)
        }
        self.bytes = key
        self.day = day
        self.scope = "\(day)/\(region)/\(service)/aws4_request"
    }

    /// The lowercase hex signature of a string to sign.
    public func signature(of stringToSign: String) throws(SnapfleetError) -> String {
        Hex.lowercase(try Hashing.hmac(stringToSign.utf8, key: bytes))
    }

    /// The scope only; never the key.
    public var description: String { "SigningKey(\(scope))" }
}

extension SigningKey: CustomReflectable {
    /// The scope only: `dump()` must not reveal the key.
    public var customMirror: Mirror { Mirror(self, children: ["scope": scope]) }
}
