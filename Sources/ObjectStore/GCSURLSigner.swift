import AWSSigning
import Digests
import SnapfleetCore
import TokenSigning

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Cloud Storage V4 signed URLs (`GOOG4-RSA-SHA256`), made with a service account's key: the
/// one-object capabilities the controller hands agents for WAL.
///
/// Path-style (`ENDPOINT/BUCKET/OBJECT`). Every header given is signed (with `host`), so a PUT URL
/// signed with `x-goog-if-generation-match: 0` can create its object but never replace one. The
/// payload is `UNSIGNED-PAYLOAD`; the agent's `Content-MD5` (unsigned) lets GCS check the bytes.
public struct GCSURLSigner: Sendable {
    /// The service account's email (the credential's first part).
    public let clientEmail: String
    /// Its key.
    public let key: RSAPrivateKey
    /// `https://storage.googleapis.com`, or the injected one (tests).
    public let endpoint: String

    /// The longest validity V4 allows: seven days.
    public static let maxExpires = 604_800

    /// A signer for the service account.
    public init(clientEmail: String, key: RSAPrivateKey, endpoint: String = "https://storage.googleapis.com") {
        self.clientEmail = clientEmail
        self.key = key
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
    }

    /// A URL allowing `method` on `object` of `bucket` for `expires` seconds from `date`; `headers` are
    /// signed and must be sent as given.
    public func signedURL(
        bucket: String, object: String, method: String, headers: [(String, String)] = [], expires: Int, date: Date
    ) throws(SnapfleetError) -> String {
        let parts = try signingParts(bucket: bucket, object: object, method: method, headers: headers, expires: expires, date: date)
        let signature = try key.signSHA256(Array(parts.stringToSign.utf8))
        return endpoint + parts.path + "?" + parts.query + "&X-Goog-Signature=" + Hex.lowercase(signature)
    }

    /// The canonical request, the string to sign, the resource path and the canonical query (tests and debugging).
    func signingParts(
        bucket: String, object: String, method: String, headers: [(String, String)], expires: Int, date: Date
    ) throws(SnapfleetError) -> (canonicalRequest: String, stringToSign: String, path: String, query: String) {
        guard (1...Self.maxExpires).contains(expires) else {
            throw SnapfleetError(.invalidBody, "a v4 signed url lasts 1 to \(Self.maxExpires) seconds, not \(expires)")
        }
        guard let host = Self.host(of: endpoint) else { throw SnapfleetError(.invalidConfiguration, "invalid gcs endpoint \(endpoint)") }
        let timestamp = AMZDate(date)
        let scope = "\(timestamp.day)/auto/storage/goog4_request"
        var canonicalHeaders = [("host", host)] + headers.map { ($0.0.lowercased(), Self.folded($0.1)) }
        canonicalHeaders.sort { $0.0 < $1.0 }
        let signedHeaders = canonicalHeaders.map(\.0).joined(separator: ";")
        let parameters = [
            ("X-Goog-Algorithm", "GOOG4-RSA-SHA256"), ("X-Goog-Credential", "\(clientEmail)/\(scope)"),
            ("X-Goog-Date", timestamp.stamp), ("X-Goog-Expires", String(expires)), ("X-Goog-SignedHeaders", signedHeaders),
        ]
        let query = parameters.map { (URIEncoding.encode($0.0), URIEncoding.encode($0.1)) }.sorted { $0 < $1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let path = "/\(bucket)/\(URIEncoding.encode(object, keepingSlashes: true))"
        let canonicalRequest = [
            method, path, query, canonicalHeaders.map { "\($0.0):\($0.1)\n" }.joined(), signedHeaders, "UNSIGNED-PAYLOAD",
        ].joined(separator: "\n")
        let hashed: String
        do { hashed = try SHA256.hash(canonicalRequest).hex } catch { throw SnapfleetError(.internalError, error.description) }
        let stringToSign = ["GOOG4-RSA-SHA256", timestamp.stamp, scope, hashed].joined(separator: "\n")
        return (canonicalRequest, stringToSign, path, query)
    }

    /// `host[:port]` of an `http(s)://host[:port][/…]` URL.
    static func host(of url: String) -> String? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let host = rest.prefix { $0 != "/" }
        return host.isEmpty ? nil : String(host)
    }

    /// A header value with its ends trimmed and inner runs of blanks made one space.
    static func folded(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}

extension GCSObjectStore: PresigningObjectStore {
    /// `x-goog-if-generation-match: 0`: GCS refuses the PUT (412) when the object exists.
    public var createOnlyHeaders: [(String, String)] { [("x-goog-if-generation-match", "0")] }

    /// A V4 signed URL for `key`; a store without a service-account key cannot make one.
    public func presignedURL(key: String, method: String, headers: [(String, String)], expires: Int, date: Date) throws(SnapfleetError)
        -> String
    {
        try ObjectKey.validate(key)
        guard let signer else {
            throw SnapfleetError(
                .invalidConfiguration, "signing gcs urls for the agents' wal needs a service-account key",
                hint: "set gcp.credentials_file or GOOGLE_APPLICATION_CREDENTIALS to a json key (the metadata server cannot sign)")
        }
        return try signer.signedURL(bucket: bucket, object: key, method: method, headers: headers, expires: expires, date: date)
    }
}
