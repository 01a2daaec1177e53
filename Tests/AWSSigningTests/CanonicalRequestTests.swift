import AWSSigning
import SnapfleetCore
import Testing

@Suite("CanonicalRequest")
struct CanonicalRequestTests {
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func canonical(
        path: String = "/", query: [QueryItem] = [], headers: [HeaderField] = [HeaderField("Host", "h")],
        conventions: SigningConventions = .standard
    ) throws -> CanonicalRequest {
        try CanonicalRequest(
            method: "get", path: path, queryItems: query, headers: headers, payloadHash: emptyHash, conventions: conventions)
    }

    static func pathLine(_ path: String, _ conventions: SigningConventions) throws -> String {
        String(try canonical(path: path, conventions: conventions).text.split(separator: "\n")[1])
    }

    @Test(
        "other services remove dot segments and repeated slashes, and encode the sent path again",
        arguments: [
            ("/", "/"), ("", "/"), ("//", "/"), ("/./", "/"), ("/a/..", "/"), ("/a/b/../..", "/"), ("/../a", "/a"),
            ("/./a", "/a"), ("//a//", "/a/"), ("/a/b/..", "/a"), ("/a%3Ab", "/a%253Ab"), ("/a b", "/a%20b"), ("/~x", "/~x"),
        ])
    func standardPath(_ path: String, _ expected: String) throws {
        #expect(try Self.pathLine(path, .standard) == expected)
    }

    @Test(
        "S3 keeps the path as sent, only putting its escapes in canonical form",
        arguments: [
            ("/", "/"), ("", "/"), ("//a/./b/../", "//a/./b/../"), ("/a%3ab", "/a%3Ab"), ("/a:b", "/a%3Ab"),
            ("/a%2Fb", "/a%2Fb"), ("/test%24file.text", "/test%24file.text"), ("/ሴ", "/%E1%88%B4"),
        ])
    func s3Path(_ path: String, _ expected: String) throws {
        #expect(try Self.pathLine(path, .s3) == expected)
    }

    @Test("a malformed escape in an S3 path is refused")
    func s3MalformedPath() {
        let error = #expect(throws: SnapfleetError.self) { try Self.canonical(path: "/a%zz", conventions: .s3) }
        #expect(error?.message == "request path has a malformed percent escape")
    }

    @Test("the query is sorted by encoded name then value, and a bare name signs as name=")
    func query() throws {
        let items = [
            QueryItem(name: "prefix", value: "a b"), QueryItem(name: "uploads", value: nil), QueryItem(name: "Zed", value: "2"),
            QueryItem(name: "a", value: "y"), QueryItem(name: "a", value: "x"), QueryItem(name: "k+", value: "~"),
        ]
        let line = try Self.canonical(query: items).text.split(separator: "\n", omittingEmptySubsequences: false)[2]
        #expect(line == "Zed=2&a=x&a=y&k%2B=~&prefix=a%20b&uploads=")
    }

    @Test("header names are lowercased and sorted, values trimmed and joined in order")
    func headers() throws {
        let request = try Self.canonical(headers: [
            HeaderField("X-B", "\t two  \t words "), HeaderField("Host", "h"), HeaderField("x-a", "1"), HeaderField("X-A", " 2"),
        ])
        #expect(request.signedHeaders == "host;x-a;x-b")
        #expect(request.text == "GET\n/\n\nhost:h\nx-a:1,2\nx-b:two words\n\nhost;x-a;x-b\n\(Self.emptyHash)")
    }

    @Test("services pick their conventions by signing name")
    func conventions() {
        #expect(SigningConventions.forService("s3") == .s3)
        #expect(SigningConventions.forService("ec2") == .standard)
        #expect(!SigningConventions.s3.normalizesPath && !SigningConventions.s3.encodesPathTwice)
    }
}
