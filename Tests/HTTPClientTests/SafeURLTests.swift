import Testing

@testable import HTTPClient

@Suite("SafeURL")
struct SafeURLTests {
    @Test(
        "the printable form drops query, fragment and user info",
        arguments: [
            ("https://bucket.s3.amazonaws.com/wal/0001?X-Amz-Signature=abc", "https://bucket.s3.amazonaws.com/wal/0001"),
            ("http://127.0.0.1:9000/b/k#frag", "http://127.0.0.1:9000/b/k"),
            ("https://user:pa55@host/p?q", "https://host/p"),
            ("https://host?only=query", "https://host"),
            ("not a url?secret", "not a url"),
        ])
    func printable(url: String, expected: String) {
        #expect(SafeURL.printable(url) == expected)
    }

    @Test("scrubbing replaces a quoted URL and its query in free text")
    func scrub() {
        let url = "https://h/p?X-Amz-Signature=s3cr3t"
        let text = SafeURL.scrub("Could not resolve \(url) (query ?X-Amz-Signature=s3cr3t)", url: url)
        #expect(text == "Could not resolve https://h/p (query ?<redacted>)")
    }
}
