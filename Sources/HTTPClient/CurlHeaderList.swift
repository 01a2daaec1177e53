import CCurl
import SnapfleetCore

/// Owns the `curl_slist` of request header lines; freed in `deinit`, after the transfer.
final class CurlHeaderList {
    /// curl adds these on its own; an empty `Name:` line stops it unless the caller sent one.
    /// `Expect: 100-continue` costs a round trip per PUT, and the default `Accept` and POST
    /// `Content-Type` were not part of what the caller signed.
    static let suppressedDefaults = ["Expect", "Accept", "Content-Type"]

    /// The list head, nil when empty.
    private(set) var head: UnsafeMutablePointer<curl_slist>?

    /// Builds the lines for `headers` after checking every field.
    init(_ headers: HTTPHeaders) throws {
        for field in headers {
            try Self.validate(field)
            // `Name:` would delete a header in curl's syntax; `Name;` sends it empty.
            try append(field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
        }
        for name in Self.suppressedDefaults where !headers.contains(name) {
            try append("\(name):")
        }
    }

    deinit { curl_slist_free_all(head) }

    private func append(_ line: String) throws {
        guard let appended = curl_slist_append(head, line) else {
            throw SnapfleetError(.internalError, "out of memory building http headers")
        }
        head = appended
    }

    /// Refuses names that are not RFC 9110 tokens and values with line breaks or NUL, which
    /// would let one header smuggle others. The value is never printed: it may be a signature.
    static func validate(_ field: HTTPHeaders.Field) throws {
        let tokenPunctuation = Set("!#$%&'*+-.^_`|~".utf8)
        let nameIsToken =
            !field.name.isEmpty
            && field.name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || tokenPunctuation.contains(byte)
            }
        guard nameIsToken else { throw SnapfleetError(.httpError, "invalid http header name") }
        guard !field.value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0x00 }) else {
            throw SnapfleetError(.httpError, "http header \(field.name) has a line break in its value")
        }
    }
}
