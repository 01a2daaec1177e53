import CloudXML
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One page of a ListObjectsV2 reply.
struct S3ListPage: Sendable {
    /// The objects on this page.
    var objects: [ObjectInfo] = []
    /// The common prefixes on this page.
    var commonPrefixes: [String] = []
    /// The token for the next page, when the listing is truncated.
    var nextToken: String?

    /// Parses `<ListBucketResult>`.
    init(xml: [UInt8]) throws(SnapfleetError) {
        let tree = try XMLTree.parse(xml)
        guard tree.name == "ListBucketResult" else {
            throw SnapfleetError(.httpError, "s3 list returned a '\(tree.name)' document instead of ListBucketResult")
        }
        objects = tree.children("Contents").compactMap(Self.object)
        commonPrefixes = tree.children("CommonPrefixes").compactMap { $0.value("Prefix") }
        if tree.value("IsTruncated") == "true" {
            guard let token = tree.value("NextContinuationToken"), !token.isEmpty else {
                throw SnapfleetError(.httpError, "s3 list is truncated but has no continuation token")
            }
            nextToken = token
        }
    }

    /// One `<Contents>` entry; entries without a key are skipped.
    private static func object(_ node: XMLTree) -> ObjectInfo? {
        // The key is not trimmed: S3 keys may legitimately end in spaces.
        guard let key = node.child("Key")?.text, !key.isEmpty else { return nil }
        return ObjectInfo(
            key: key, size: Int64(node.value("Size") ?? "") ?? 0, etag: node.value("ETag").map(S3Dates.unquoted),
            lastModified: node.value("LastModified").flatMap(S3Dates.iso8601))
    }
}

/// The two date formats S3 uses, and its quoted entity tags.
enum S3Dates {
    /// `2026-11-25T22:34:43.000Z` (listings).
    static func iso8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }

    /// `Wed, 25 Nov 2026 22:34:43 GMT` (the Last-Modified header).
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, let day = Int(parts[1]), let year = Int(parts[3]),
            let month = months.firstIndex(of: String(parts[2])), case let clock = parts[4].split(separator: ":"),
            clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2])
        else { return nil }
        let iso = String(year) + "-" + pad(month + 1) + "-" + pad(day) + "T" + pad(hour) + ":" + pad(minute) + ":" + pad(second) + "Z"
        return try? Date(iso, strategy: .iso8601)
    }

    /// `"abc"` → `abc`.
    static func unquoted(_ etag: String) -> String {
        etag.count >= 2 && etag.hasPrefix("\"") && etag.hasSuffix("\"") ? String(etag.dropFirst().dropLast()) : etag
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
