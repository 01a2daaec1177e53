import Testing

@testable import HTTPClient

@Suite("ResponseHeaderParser")
struct ResponseHeaderParserTests {
    @Test("an interim 100 Continue block is replaced by the final response's block")
    func interimBlock() {
        var parser = ResponseHeaderParser()
        for line in ["HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 200 OK\r\n", "ETag:  \"x\" \r\n", "\r\n"] {
            parser.consume(line)
        }
        #expect(parser.status == 200)
        #expect(parser.headers.map(\.name) == ["ETag"])
        #expect(parser.headers["etag"] == "\"x\"")
    }

    @Test("HTTP/2 status lines, empty values and folded lines parse")
    func variants() {
        var parser = ResponseHeaderParser()
        for line in ["HTTP/2 404\r\n", "x-empty:\r\n", "x-long: a\r\n", " b\r\n", "\r\n"] {
            parser.consume(line)
        }
        #expect(parser.status == 404)
        #expect(parser.headers["x-empty"] == "")
        #expect(parser.headers["x-long"] == "a b")
    }
}
