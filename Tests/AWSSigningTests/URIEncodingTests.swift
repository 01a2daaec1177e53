import AWSSigning
import Testing

@Suite("URIEncoding")
struct URIEncodingTests {
    @Test("unreserved characters stay, everything else becomes uppercase %XX of its UTF-8 bytes")
    func encode() {
        #expect(URIEncoding.encode("AZaz09-_.~") == "AZaz09-_.~")
        #expect(URIEncoding.encode("a b+c=d&e/f:g*h%i") == "a%20b%2Bc%3Dd%26e%2Ff%3Ag%2Ah%25i")
        #expect(URIEncoding.encode("ሴ") == "%E1%88%B4")
        #expect(URIEncoding.encode("") == "")
    }

    @Test("slashes are kept only when asked, for paths")
    func slashes() {
        #expect(URIEncoding.encode("wal/0000 1", keepingSlashes: true) == "wal/0000%201")
        #expect(URIEncoding.encode("wal/0000 1") == "wal%2F0000%201")
    }

    @Test("decoding accepts either hex case, keeps + as +, and rejects malformed escapes")
    func decode() {
        #expect(URIEncoding.decode("a%3ab%3Ac+d") == Array("a:b:c+d".utf8))
        #expect(URIEncoding.decode("%E1%88%B4") == Array("ሴ".utf8))
        #expect(URIEncoding.decode("100%") == nil)
        #expect(URIEncoding.decode("%4") == nil)
        #expect(URIEncoding.decode("%zz") == nil)
    }
}
