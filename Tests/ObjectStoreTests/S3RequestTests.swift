import AWSSigning
import Foundation
import HTTPClient
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

@Suite("S3ObjectStore requests as sent: addressing, headers, multipart abort")
struct S3RequestTests {
    let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Redacted("secret"))

    func store(_ transport: ScriptedTransport, endpoint: String? = "http://127.0.0.1:9", threshold: Int64 = 100 << 20) throws
        -> S3ObjectStore
    {
        let options = S3ObjectStore.Options(
            multipartThreshold: threshold, partSize: 5 << 20, retry: RetryPolicy(maxAttempts: 1))
        return try S3ObjectStore(
            bucket: "bkt", region: "eu-west-1", endpoint: endpoint, credentials: credentials, options: options, transport: transport)
    }

    @Test("without an endpoint the bucket is in the AWS host name (virtual-hosted style)")
    func virtualHosted() throws {
        let transport = ScriptedTransport([.reply(200, "x")])
        _ = try store(transport, endpoint: nil).get("base/a b+c")
        #expect(transport.requests.first?.url == "https://bkt.s3.eu-west-1.amazonaws.com/base/a%20b%2Bc")
    }

    @Test("with an endpoint the bucket is the first path segment (path style)")
    func pathStyle() throws {
        let transport = ScriptedTransport([.reply(200, "x")])
        _ = try store(transport).get("base/k")
        #expect(transport.requests.first?.url == "http://127.0.0.1:9/bkt/base/k")
        #expect(throws: SnapfleetError.self) {
            try S3ObjectStore(bucket: "b", region: "r", endpoint: "http://host/path", credentials: credentials)
        }
    }

    @Test("a put of a file sends octet-stream, If-None-Match and the file's streamed sha-256")
    func putHeaders() throws {
        let directory = try TemporaryDirectory(prefix: "s3request")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: directory.file("f")))
        let transport = ScriptedTransport([.reply(200, "")])
        try store(transport).put("k", body: .file(path: directory.file("f")), ifAbsent: true)
        let headers = try #require(transport.requests.first?.headers)
        #expect(headers["Content-Type"] == "application/octet-stream")
        #expect(headers["If-None-Match"] == "*")
        #expect(headers["x-amz-content-sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("a failing part aborts the multipart upload and the part's error is thrown")
    func multipartAbort() throws {
        let created = "<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>"
        let transport = ScriptedTransport([
            .reply(200, created), .reply(400, "<Error><Code>InvalidPart</Code><Message>bad part</Message></Error>"),
            .reply(204, ""),
        ])
        let error = thrownError { try store(transport, threshold: 5 << 20).put("big", body: .bytes([UInt8](repeating: 1, count: 6 << 20))) }
        #expect(error?.message.contains("s3 upload part 1 s3://bkt/big failed: InvalidPart (http 400): bad part") == true)
        let last = try #require(transport.requests.last)
        #expect(last.method == .delete)
        #expect(last.url == "http://127.0.0.1:9/bkt/big?uploadId=up-1")
        #expect(transport.requests.count == 3)
    }
}
