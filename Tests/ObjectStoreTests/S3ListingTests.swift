import AWSSigning
import Foundation
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

@Suite(
    "S3ObjectStore listings with prefixes and delimiters, signatures checked by a botocore proxy",
    .requires(MotoServer.isAvailable, Comment(rawValue: MotoServer.requirement)))
struct S3ListingTests {
    let proxy: SigningProxy
    let bucket = "listing"

    init() throws {
        proxy = try SigningProxy()
        try proxy.boto3("s3.create_bucket(Bucket='\(bucket)')")
    }

    /// A store on the proxy with the right (or a wrong) secret.
    func store(secret: String = SigningProxy.secretAccessKey) throws -> S3ObjectStore {
        let credentials = AWSCredentials(accessKeyID: SigningProxy.accessKeyID, secretAccessKey: Redacted(secret))
        return try S3ObjectStore(bucket: bucket, region: "us-east-1", endpoint: proxy.endpoint, credentials: credentials)
    }

    @Test("a prefixed listing of 1100 keys follows continuation tokens across pages")
    func pagination() throws {
        try proxy.boto3(
            """
            for i in range(1100):
                s3.put_object(Bucket='\(bucket)', Key='wal/%05d' % i, Body=b'x')
            s3.put_object(Bucket='\(bucket)', Key='walrus', Body=b'x')
            """)
        let listing = try store().list(prefix: "wal/")
        #expect(listing.keys == (0..<1100).map { "wal/" + String(repeating: "0", count: 5 - String($0).count) + String($0) })
    }

    @Test("a delimited listing returns objects and common prefixes")
    func delimiter() throws {
        let store = try store()
        for key in ["base/b1/backup.info", "base/b1/data", "base/b2/backup.info", "base/top", "wals/1"] {
            try store.put(key, body: .bytes([0]))
        }
        let root = try store.list(prefix: "", delimiter: "/")
        #expect(root.keys.isEmpty)
        #expect(root.commonPrefixes == ["base/", "wals/"])
        let base = try store.list(prefix: "base/", delimiter: "/")
        #expect(base.keys == ["base/top"])
        #expect(base.commonPrefixes == ["base/b1/", "base/b2/"])
        let partial = try store.list(prefix: "base/b", delimiter: "/")
        #expect(partial.keys.isEmpty)
        #expect(partial.commonPrefixes == ["base/b1/", "base/b2/"])
    }

    @Test("the proxy refuses a wrong secret, so the passing listings prove the signatures")
    func proxyChecks() throws {
        let error = thrownError { _ = try store(secret: "wrong").list(prefix: "base/", delimiter: "/") }
        #expect(error?.message.contains("SignatureDoesNotMatch") == true)
    }
}
