import AWSSigning
import Foundation
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

/// What a WAL upload URL lets its holder do, shown through a proxy that verifies every signature
/// as S3 does: one key, one method, no overwrite, until it expires.
@Suite(
    "presigned WAL URLs are capabilities for one object", .serialized, .requires(MotoServer.isAvailable, Comment(rawValue: MotoServer.requirement))
)
struct PresignedCapabilityTests {
    let s3: VerifyingS3
    let store: S3ObjectStore
    let bucket = "capabilities"

    init() throws {
        s3 = try VerifyingS3()
        try s3.boto3("s3.create_bucket(Bucket=\"\(bucket)\")")
        let credentials = AWSCredentials(accessKeyID: VerifyingS3.accessKeyID, secretAccessKey: Redacted(VerifyingS3.secretAccessKey))
        store = try S3ObjectStore(bucket: bucket, region: s3.region, endpoint: s3.endpoint, credentials: credentials)
    }

    /// `curl` with the URL, the headers and a body; returns the HTTP status.
    func send(_ method: String, _ url: String, headers: [String] = [], body: String? = nil) throws -> Int {
        var arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method]
        if method == "HEAD" { arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"] }
        for header in headers { arguments += ["-H", header] }
        // An explicit type: curl's default form type makes moto's web framework swallow the body.
        if let body { arguments += ["-H", "Content-Type: application/octet-stream", "--data-binary", body] }
        return Int(try Shell.check(arguments + [url]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func putURL(_ key: String, expires: Int = 600) throws -> String {
        try store.presignedURL(key: key, method: "PUT", headers: [("if-none-match", "*")], expires: expires)
    }

    @Test("a PUT URL creates its object once; a second PUT cannot overwrite it")
    func createsOnce() throws {
        let url = try putURL("wals/0000000100000000/000000010000000000000001")
        #expect(try send("PUT", url, headers: ["If-None-Match: *"], body: "first") == 200)
        #expect(try send("PUT", url, headers: ["If-None-Match: *"], body: "second") == 412)
        let stored = String(decoding: try store.get("wals/0000000100000000/000000010000000000000001"), as: UTF8.self)
        #expect(stored == "first")
    }

    @Test("the URL cannot write another key, drop the no-overwrite header, or be used with another method")
    func oneKeyOneMethod() throws {
        let url = try putURL("wals/0000000100000000/000000010000000000000002")
        let otherKey = url.replacingOccurrences(of: "000000010000000000000002", with: "000000010000000000000009")
        #expect(try send("PUT", otherKey, headers: ["If-None-Match: *"], body: "x") == 403)
        #expect(try send("PUT", url, body: "x") == 403, "without the signed If-None-Match")
        #expect(try send("GET", url) == 403)
        #expect(try store.head("wals/0000000100000000/000000010000000000000009") == nil)
        #expect(try store.head("wals/0000000100000000/000000010000000000000002") == nil)
    }

    @Test("an expired URL is refused")
    func expires() throws {
        let url = try putURL("wals/0000000100000000/000000010000000000000003", expires: 1)
        Thread.sleep(forTimeInterval: 2.2)
        #expect(try send("PUT", url, headers: ["If-None-Match: *"], body: "late") == 403)
        #expect(s3.log.contains("Request has expired"))
    }

    @Test("HEAD and GET URLs read the object and nothing else")
    func readURLs() throws {
        try store.put("wals/0000000100000000/000000010000000000000004", body: .bytes(Array("wal".utf8)), ifAbsent: true)
        let get = try store.presignedURL(key: "wals/0000000100000000/000000010000000000000004", method: "GET", expires: 600)
        let head = try store.presignedURL(key: "wals/0000000100000000/000000010000000000000004", method: "HEAD", expires: 600)
        #expect(try send("GET", get) == 200)
        #expect(try send("HEAD", head) == 200)
        #expect(try send("PUT", get, body: "overwrite") == 403)
        #expect(try store.get("wals/0000000100000000/000000010000000000000004") == Array("wal".utf8))
    }
}
