/// Removes secrets from text that libpq or the server produced before it reaches an error message.
///
/// libpq's own messages do not print passwords, but a malformed conninfo or a server message can
/// echo parts of what it was given, so every message is scrubbed before it becomes a `SnapfleetError`.
struct SecretScrubber: Sendable {
    /// Secret values known to this connection (the conninfo's password), removed wherever they appear.
    var secrets: [String] = []

    /// The text on one line, with `password=…`, URI credentials and known secrets replaced by `<redacted>`.
    func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty {
            result = result.replacing(secret, with: "<redacted>")
        }
        result = result.replacing(#/(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/#, with: "password=<redacted>")
        result = result.replacing(#/://[^\s/@:]*:[^\s/@]*@/#, with: "://<redacted>@")
        return Self.oneLine(result)
    }

    /// Joins libpq's multi-line messages (`…failed: …\n\tIs the server running…`) into one line.
    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingPrefix(while: \.isWhitespace) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
            .trimmingTrailingWhitespace()
    }
}

extension String {
    /// The string without trailing whitespace.
    fileprivate func trimmingTrailingWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
