import CloudXML
import SnapfleetCore

/// One page of a List Blobs reply (`<EnumerationResults>`).
struct AzureBlobListPage: Sendable {
    /// The blobs on this page.
    var objects: [ObjectInfo] = []
    /// The `BlobPrefix` names on this page.
    var commonPrefixes: [String] = []
    /// The marker of the next page; nil on the last.
    var nextMarker: String?

    /// Parses `<EnumerationResults>`.
    init(xml: [UInt8]) throws(SnapfleetError) {
        let tree = try XMLTree.parse(xml)
        guard tree.name == "EnumerationResults" else {
            throw SnapfleetError(.httpError, "azure list blobs returned a '\(tree.name)' document instead of EnumerationResults")
        }
        let blobs = tree.child("Blobs")
        objects = blobs?.children("Blob").compactMap(Self.object) ?? []
        // Not trimmed: blob names may end in spaces.
        commonPrefixes = blobs?.children("BlobPrefix").compactMap { $0.child("Name")?.text } ?? []
        nextMarker = tree.value("NextMarker").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// One `<Blob>`; entries without a name are skipped.
    private static func object(_ node: XMLTree) -> ObjectInfo? {
        guard let name = node.child("Name")?.text, !name.isEmpty else { return nil }
        let properties = node.child("Properties")
        return ObjectInfo(
            key: name, size: Int64(properties?.value("Content-Length") ?? "") ?? 0, etag: properties?.value("Etag").map(S3Dates.unquoted),
            lastModified: properties?.value("Last-Modified").flatMap(S3Dates.httpDate))
    }
}
