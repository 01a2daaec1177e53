import AWSSigning
import Testing

@Suite("HeaderField")
struct HeaderFieldTests {
    @Test("Authorization and X-Amz-Security-Token values are hidden when printed or dumped")
    func sensitive() {
        for name in ["Authorization", "x-amz-security-token", "X-Amz-Security-Token"] {
            let field = HeaderField(name, "credential-value")
            var dumped = ""
            dump(field, to: &dumped)
            #expect(field.isSensitive)
            #expect(field.description == "\(name): <redacted>")
            #expect(!dumped.contains("credential-value"))
            #expect(field.value == "credential-value")
        }
    }

    @Test("other headers print as name: value")
    func ordinary() {
        #expect(HeaderField("X-Amz-Date", "20150830T123600Z").description == "X-Amz-Date: 20150830T123600Z")
        #expect(!HeaderField("Range", "bytes=0-9").isSensitive)
    }
}
