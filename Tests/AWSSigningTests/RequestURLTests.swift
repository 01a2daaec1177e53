import AWSSigning
import SnapfleetCore
import Testing

@Suite("RequestURL")
struct RequestURLTests {
    @Test("a URL splits into scheme, host, port, path as sent and decoded query items")
    func parse() throws {
        let url = try RequestURL(parsing: "HTTPS://Bucket.S3.amazonaws.com:8443/a%20b/c?uploads&prefix=J%2Fk&empty=")
        #expect(url.scheme == "https")
        #expect(url.host == "bucket.s3.amazonaws.com")
        #expect(url.port == 8443)
        #expect(url.path == "/a%20b/c")
        #expect(
            url.queryItems == [
                QueryItem(name: "uploads", value: nil), QueryItem(name: "prefix", value: "J/k"), QueryItem(name: "empty", value: ""),
            ])
        #expect(url.hostHeader == "bucket.s3.amazonaws.com:8443")
        #expect(url.string == "https://bucket.s3.amazonaws.com:8443/a%20b/c?uploads&prefix=J%2Fk&empty=")
    }

    @Test("a missing path is /, and the scheme's default port is dropped from Host")
    func defaults() throws {
        let url = try RequestURL(parsing: "http://127.0.0.1:80?a=1")
        #expect(url.path == "/")
        #expect(url.port == nil)
        #expect(url.hostHeader == "127.0.0.1")
        #expect(try RequestURL(parsing: "https://[::1]:9000/").hostHeader == "[::1]:9000")
        #expect(try RequestURL(parsing: "https://[::1]/").host == "[::1]")
    }

    @Test("query items are written back with SigV4's encoding, not form encoding")
    func serialize() {
        let url = RequestURL(
            scheme: "https", host: "h", path: "/k",
            queryItems: [QueryItem(name: "a b", value: "c+d=e"), QueryItem(name: "list-type", value: "2")])
        #expect(url.string == "https://h/k?a%20b=c%2Bd%3De&list-type=2")
    }

    @Test(
        "bad URLs are refused with a reason and never quoted",
        arguments: [
            ("ftp://host/x", "invalid url: scheme is not http or https"),
            ("host/x?X-Amz-Signature=abc", "invalid url: no scheme"),
            ("https://user:secret@host/x", "invalid url: it has user info"),
            ("https://host/x#frag", "invalid url: it has a fragment"),
            ("https:///x", "invalid url: no host"),
            ("https://host:0/x", "invalid url: bad port"),
            ("https://host:99999/x", "invalid url: bad port"),
            ("https://host:x/", "invalid url: bad port"),
            ("https://[::1/x", "invalid url: unclosed ipv6 address"),
            ("https://host/a b", "invalid url: path is not percent-encoded"),
            ("https://host/ሴ", "invalid url: path is not percent-encoded"),
            ("https://host/a%2", "invalid url: path has a malformed percent escape"),
            ("https://host/?token=secret%zz", "invalid url: query has a malformed percent escape"),
            ("https://host/?token=%FF", "invalid url: query is not utf-8"),
        ])
    func invalid(_ text: String, _ message: String) {
        let error = #expect(throws: SnapfleetError.self) { try RequestURL(parsing: text) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message == message)
        #expect(error?.description.contains("secret") == false)
    }
}
