import HTTPClient
import Testing

@testable import AgentCore

/// How the agent reads an existing object's MD5 from each store's HEAD answer, to tell a file it
/// already archived from a different one under the same key.
@Suite("WALTransfer: the stored MD5 as each store states it")
struct WALTransferTests {
    /// The MD5 of "abc", in hex and in base64.
    let hex = "900150983cd24fb0d6963f7d28e17f72"
    let base64 = "kAFQmDzST7DWlj99KOF/cg=="

    @Test("S3: the ETag of a single-part upload, quoted")
    func s3ETag() {
        #expect(WALTransfer.md5Hex(of: HTTPHeaders([("ETag", "\"\(hex)\"")])) == hex)
    }

    @Test("GCS: x-goog-hash md5=, on its own line or beside crc32c, wins over the ETag")
    func gcsHash() {
        #expect(
            WALTransfer.md5Hex(of: HTTPHeaders([("x-goog-hash", "crc32c=n03x6A=="), ("x-goog-hash", "md5=\(base64)"), ("ETag", "\"x\"")])) == hex)
        #expect(WALTransfer.md5Hex(of: HTTPHeaders([("x-goog-hash", "crc32c=n03x6A==, md5=\(base64)")])) == hex)
    }

    @Test("Azure: Content-MD5 in base64 (the ETag is no digest there)")
    func azureContentMD5() {
        #expect(WALTransfer.md5Hex(of: HTTPHeaders([("Content-MD5", base64), ("ETag", "\"0x8DC1234ABCD\"")])) == hex)
    }

    @Test("a malformed Content-MD5 falls back to the ETag; nothing at all is nil")
    func fallbacks() {
        #expect(WALTransfer.md5Hex(of: HTTPHeaders([("Content-MD5", "not-base64"), ("ETag", "\"\(hex)\"")])) == hex)
        #expect(WALTransfer.md5Hex(of: HTTPHeaders([])) == nil)
    }
}
