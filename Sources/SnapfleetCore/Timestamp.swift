#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// RFC 3339 timestamps, the one textual time format of the wire and the logs.
public enum Timestamp {
    /// `2026-11-25T21:30:00Z` (UTC, whole seconds).
    public static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Parses what `rfc3339` writes (`2026-11-25T21:30:00Z`); nil for anything else.
    public static func parse(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle().parse(text)
    }
}
