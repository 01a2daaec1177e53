import SnapfleetCore

/// A blob service SAS (signed with the account key) or user delegation SAS (signed with a key
/// Entra ID credentials obtained): the query string that grants `permissions` on one blob.
///
/// The string to sign follows "Create a service SAS" and "Create a user delegation SAS" for the
/// two versions the stand-in checks (2020-12-06, and 2026-10-06 which adds `skdutid`, `sduoid`,
/// `srh` and `srq` to the user delegation layout); the query is spelled as azure-storage-blob's
/// `generate_blob_sas` spells it (its order, values encoded with `/` kept).
struct AzureBlobSAS: Sendable {
    /// The version snapfleet signs: azure-storage-blob 12.31's.
    static let currentVersion = "2026-10-06"

    /// The storage account.
    var account: String
    /// The container.
    var container: String
    /// The blob (unencoded).
    var blob: String
    /// `sp`: `r`, `c`, `cw`, `d`, … in the service's canonical order.
    var permissions: String
    /// `st` (`2026-05-04T10:00:00Z`).
    var start: String?
    /// `se`.
    var expiry: String
    /// `spr`: `https`, or `https,http`.
    var protocols: String
    /// `sv`.
    var version = currentVersion
    /// `rscc`, `rscd`, `rsce`, `rscl`, `rsct`: response headers a GET through the SAS answers with.
    var responseHeaders: [String: String] = [:]

    /// The response-header parameters in signing order.
    static let responseHeaderNames = ["rscc", "rscd", "rsce", "rscl", "rsct"]

    /// `/blob/ACCOUNT/CONTAINER/BLOB`, names unencoded.
    var canonicalizedResource: String { "/blob/\(account)/\(container)/\(blob)" }

    /// The string to sign with the account key (`delegation` nil) or a user delegation key.
    func stringToSign(delegation: AzureUserDelegationKey?) -> String {
        let head = [permissions, start ?? "", expiry, canonicalizedResource]
        let middle = ["", protocols, version, "b", "", ""]  // sip, spr, sv, sr, snapshot, ses
        let tail = Self.responseHeaderNames.map { responseHeaders[$0] ?? "" }
        guard let key = delegation else { return (head + [""] + middle + tail).joined(separator: "\n") }  // si
        // skoid … skv, then saoid, suoid, scid (unused: no preauthorized or correlation ids).
        let keyFields = [key.signedOID, key.signedTID, key.signedStart, key.signedExpiry, key.signedService, key.signedVersion, "", "", ""]
        if version >= "2026-10-06" {
            // skdutid, sduoid (delegated user tenant and object), then srh, srq (signed request headers and query).
            return (head + keyFields + ["", ""] + middle + ["", ""] + tail).joined(separator: "\n")
        }
        return (head + keyFields + middle + tail).joined(separator: "\n")
    }

    /// The query string (without `?`), signed with the account key or a user delegation key.
    func query(sharedKey: AzureSharedKey) throws(SnapfleetError) -> String {
        query(delegation: nil, signature: try sharedKey.signature(stringToSign(delegation: nil)))
    }

    /// The query string signed with a user delegation key.
    func query(delegation key: AzureUserDelegationKey) throws(SnapfleetError) -> String {
        query(delegation: key, signature: try key.signature(stringToSign(delegation: key)))
    }

    /// `st, se, sp, spr, sv, sr, rsc*, skoid … skv, sig`: the SDK's order.
    private func query(delegation: AzureUserDelegationKey?, signature: String) -> String {
        var items: [(String, String)] = []
        if let start { items.append(("st", start)) }
        items += [("se", expiry), ("sp", permissions), ("spr", protocols), ("sv", version), ("sr", "b")]
        for name in Self.responseHeaderNames { if let value = responseHeaders[name] { items.append((name, value)) } }
        if let key = delegation {
            items += [
                ("skoid", key.signedOID), ("sktid", key.signedTID), ("skt", key.signedStart), ("ske", key.signedExpiry),
                ("sks", key.signedService), ("skv", key.signedVersion),
            ]
        }
        items.append(("sig", signature))
        return items.map { "\($0.0)=\(Self.encoded($0.1))" }.joined(separator: "&")
    }

    /// Python's `urllib.parse.quote(value)`: unreserved characters and `/` kept, the rest `%XX`.
    static func encoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// `sp` for an HTTP method: `r` to read (GET, HEAD), `d` to delete; a PUT gets `c` alone when it
    /// must only create (the service then refuses to replace a blob whatever the holder sends) and
    /// `cw` otherwise. Anything else is refused.
    static func permissions(method: String, createOnly: Bool) throws(SnapfleetError) -> String {
        switch method.uppercased() {
        case "GET", "HEAD": return "r"
        case "PUT": return createOnly ? "c" : "cw"
        case "DELETE": return "d"
        default: throw SnapfleetError(.invalidBody, "an azure sas cannot be made for http \(method)")
        }
    }
}
