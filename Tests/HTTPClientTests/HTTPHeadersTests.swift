import HTTPClient
import Testing

@Suite("HTTPHeaders")
struct HTTPHeadersTests {
    @Test("lookup ignores the case of names and returns the first value")
    func lookup() {
        let headers: HTTPHeaders = ["ETag": "\"abc\"", "x-amz-meta-a": "1", "X-Amz-Meta-A": "2"]
        #expect(headers["etag"] == "\"abc\"")
        #expect(headers["X-AMZ-META-A"] == "1")
        #expect(headers.values(for: "x-amz-meta-a") == ["1", "2"])
        #expect(headers["missing"] == nil)
        #expect(headers.contains("ETAG"))
    }

    @Test("fields keep their order and spelling, duplicates included")
    func order() {
        var headers = HTTPHeaders([("B", "1"), ("a", "2")])
        headers.append(name: "B", value: "3")
        #expect(headers.map(\.name) == ["B", "a", "B"])
        #expect(headers.map(\.value) == ["1", "2", "3"])
        #expect(headers.count == 3)
    }
}
