import CloudXML
import SnapfleetCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A user delegation key (Get User Delegation Key's `<UserDelegationKey>`): what signs SASs when
/// the store has Entra ID credentials instead of the account key. Its value is held redacted.
struct AzureUserDelegationKey: Sendable {
    /// `SignedOid`: the principal the key was issued to.
    var signedOID: String
    /// `SignedTid`: its tenant.
    var signedTID: String
    /// `SignedStart`, as the service wrote it.
    var signedStart: String
    /// `SignedExpiry`, as the service wrote it.
    var signedExpiry: String
    /// `SignedService`: `b`.
    var signedService: String
    /// `SignedVersion`.
    var signedVersion: String
    /// `Value`: the base64 HMAC key.
    var value: Redacted<String>

    /// When the key stops working (nil when the service's date cannot be read).
    var expiresAt: Date? { Timestamp.parse(signedExpiry) }

    /// Base64 HMAC-SHA256 of `text` under the key.
    func signature(_ text: String) throws(SnapfleetError) -> String {
        guard let key = Data(base64Encoded: value.value) else {
            throw SnapfleetError(.httpError, "the user delegation key the storage service gave is not base64")
        }
        return try AzureSigning.hmacBase64(text, key: Array(key))
    }

    /// Parses the service's answer; a document without every field is an error.
    init(xml: [UInt8]) throws(SnapfleetError) {
        let tree = try XMLTree.parse(xml)
        func field(_ name: String) throws(SnapfleetError) -> String {
            guard tree.name == "UserDelegationKey", let value = tree.value(name), !value.isEmpty else {
                throw SnapfleetError(.httpError, "get user delegation key answered without \(name)")
            }
            return value
        }
        signedOID = try field("SignedOid")
        signedTID = try field("SignedTid")
        signedStart = try field("SignedStart")
        signedExpiry = try field("SignedExpiry")
        signedService = try field("SignedService")
        signedVersion = try field("SignedVersion")
        value = Redacted(try field("Value"))
    }

    /// A key from its parts (tests).
    init(
        signedOID: String, signedTID: String, signedStart: String, signedExpiry: String, signedService: String, signedVersion: String,
        value: Redacted<String>
    ) {
        self.signedOID = signedOID
        self.signedTID = signedTID
        self.signedStart = signedStart
        self.signedExpiry = signedExpiry
        self.signedService = signedService
        self.signedVersion = signedVersion
        self.value = value
    }
}

/// User delegation keys by blob endpoint, for the whole process (stores are made per operation,
/// and each WAL URL must not cost a Get User Delegation Key call): a key is reused while it covers
/// the SAS asked for, with a minute to spare.
public final class AzureDelegationKeyCache: Sendable {
    /// The process's cache.
    public static let shared = AzureDelegationKeyCache()

    private let keys = Mutex<[String: AzureUserDelegationKey]>([:])

    /// Creates an empty cache.
    public init() {}

    /// The cached key of `endpoint` if it lasts until `expiry` plus a minute, else the one `fetch` returns (kept).
    func key(
        for endpoint: String, covering expiry: Date, fetch: () throws(SnapfleetError) -> AzureUserDelegationKey
    ) throws(SnapfleetError) -> AzureUserDelegationKey {
        // The lock is held during the fetch on purpose: URLs asked for at once wait for one key.
        try keys.withLock { (keys: inout [String: AzureUserDelegationKey]) throws(SnapfleetError) -> AzureUserDelegationKey in
            if let cached = keys[endpoint], let end = cached.expiresAt, end.timeIntervalSince(expiry) >= 60 { return cached }
            let fresh = try fetch()
            keys[endpoint] = fresh
            return fresh
        }
    }
}
