/// A keep annotation's target, the body of `base/<id>/annotations/keep` (spec §7.4).
public enum KeepTarget: String, Sendable, Hashable, CaseIterable {
    /// Keep the backup and all WAL needed from it onwards.
    case full
    /// Keep the backup and only the WAL needed to make it consistent.
    case standalone

    /// The object body: the bare word, UTF-8, no trailing newline.
    public var annotationBody: String { rawValue }

    /// Reads an annotation body as barman does: its first line; anything but `standalone` keeps
    /// the backup in full (retention treats any non-empty target other than `standalone` as FULL).
    /// An empty body means no keep.
    public init?(annotationBody body: String) {
        let firstLine = body.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if firstLine.isEmpty { return nil }
        self = firstLine == "standalone" ? .standalone : .full
    }
}
