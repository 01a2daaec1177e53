import SnapfleetCore

/// Blob service requests signed with Shared Key (the "Authorize with Shared Key" reference,
/// version 2009-09-19 and later): `Authorization: SharedKey ACCOUNT:base64(HMAC-SHA256(key, string to sign))`.
struct AzureSharedKeySigner: Sendable {
    /// The account and its key.
    let key: AzureSharedKey

    /// The standard headers signed in this order, each on its own line (empty when absent).
    static let standardHeaders = [
        "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date", "if-modified-since",
        "if-match", "if-none-match", "if-unmodified-since", "range",
    ]

    /// `SharedKey ACCOUNT:SIGNATURE` for the request.
    func authorization(method: String, path: String, query: String, headers: [(String, String)]) throws(SnapfleetError) -> String {
        "SharedKey \(key.account):" + (try key.signature(stringToSign(method: method, path: path, query: query, headers: headers)))
    }

    /// The string to sign for `method` on `path` (percent-encoded, as sent) with `query` (as sent,
    /// without `?`) and every header sent but `Authorization` (`Content-Length` included, which
    /// curl would otherwise add unseen).
    func stringToSign(method: String, path: String, query: String, headers: [(String, String)]) -> String {
        var values: [String: [String]] = [:]
        var order: [String] = []
        for (name, value) in headers {
            let lowered = name.lowercased()
            if values[lowered] == nil { order.append(lowered) }
            values[lowered, default: []].append(Self.trimmed(value))
        }
        var lines = [method.uppercased()]
        for name in Self.standardHeaders {
            let value = values[name]?.joined(separator: ",") ?? ""
            // Since version 2015-02-21 a zero Content-Length is signed as an empty line.
            lines.append(name == "content-length" && value == "0" ? "" : value)
        }
        let msHeaders = order.filter { $0.hasPrefix("x-ms-") }.sorted { Self.collates($0, before: $1) }
        var text = lines.joined(separator: "\n") + "\n"
        for name in msHeaders { text += "\(name):\(values[name]!.joined(separator: ","))\n" }
        return text + canonicalizedResource(path: path, query: query)
    }

    /// `/ACCOUNT` + the path as sent, then one `name:value[,value]` line per query parameter, names
    /// lower-cased and sorted, values decoded and sorted. For a path-style endpoint
    /// (`http://host/ACCOUNT/…`) the account appears twice, as the SDK and the emulator sign it.
    func canonicalizedResource(path: String, query: String) -> String {
        var parameters: [String: [String]] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = AzureSigning.queryDecoded(parts[0]).lowercased()
            parameters[name, default: []].append(parts.count > 1 ? AzureSigning.queryDecoded(parts[1]) : "")
        }
        var text = "/" + key.account + path
        for name in parameters.keys.sorted(by: ListingGrouping.byteOrder) {
            text += "\n\(name):" + parameters[name]!.sorted(by: ListingGrouping.byteOrder).joined(separator: ",")
        }
        return text
    }

    /// The value with surrounding blanks removed.
    static func trimmed(_ value: String) -> String {
        var text = Substring(value)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }

    /// The service's order of `x-ms-` header names (the SDK's `_storage_header_sort` tables): first
    /// compared with `-` ignored and `.` < `_` < digits < letters; names equal so are ordered by
    /// where their dashes fall. Byte order agrees for the headers sent here, not for every name.
    static func collates(_ left: String, before right: String) -> Bool {
        let (lhs, rhs) = (Array(left.utf8), Array(right.utf8))
        // Level 0: dashes carry no weight. Level 1: only dashes weigh, and the first name to reach
        // a dash where the other has none sorts first.
        return order(lhs, rhs, by: primaryWeight, positionDecides: false)
            ?? order(lhs, rhs, by: { $0 == UInt8(ascii: "-") ? 2 : 0 }, positionDecides: true) ?? false
    }

    /// One level of the collation: both names walked by `weight` (0 is skipped, 1 marks the end);
    /// the first unequal weights decide, nil when the names end together. With `positionDecides`, a
    /// name that has skipped more bytes than the other at a step sorts first.
    private static func order(_ lhs: [UInt8], _ rhs: [UInt8], by weight: (UInt8) -> Int, positionDecides: Bool) -> Bool? {
        var (i, j) = (0, 0)
        while true {
            if positionDecides && i != j { return i > j }
            let w1 = i < lhs.count ? weight(lhs[i]) : 1
            let w2 = j < rhs.count ? weight(rhs[j]) : 1
            if w1 == 1 && w2 == 1 { return nil }
            if w1 == w2 {
                i += 1
                j += 1
            } else if w1 == 0 {
                i += 1
            } else if w2 == 0 {
                j += 1
            } else {
                return w1 < w2
            }
        }
    }

    /// The first-level weight of a lower-case name byte: 0 (ignored) for `-`, 1 is the end marker.
    private static func primaryWeight(_ byte: UInt8) -> Int {
        switch byte {
        case UInt8(ascii: "-"): 0
        case UInt8(ascii: "."): 2
        case UInt8(ascii: "_"): 3
        case UInt8(ascii: "0")...UInt8(ascii: "9"): 10 + Int(byte)
        case UInt8(ascii: "a")...UInt8(ascii: "z"): 100 + Int(byte)
        default: 1000 + Int(byte)
        }
    }
}
