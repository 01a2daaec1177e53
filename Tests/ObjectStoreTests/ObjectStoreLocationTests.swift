import ObjectStore
import SnapfleetCore
import Testing

@Suite("ObjectStoreLocation: destination URLs")
struct ObjectStoreLocationTests {
    @Test("s3 URLs give the bucket and the path without leading slashes, as barman-cloud does")
    func s3() throws {
        let location = try ObjectStoreLocation(parsing: "s3://my-bucket/backups/pg1")
        #expect(location.scheme == .s3)
        #expect(location.bucket == "my-bucket")
        #expect(location.path == "backups/pg1")
        #expect(location.root == "backups/pg1")
        #expect(try ObjectStoreLocation(parsing: "s3://b").path == "")
        #expect(try ObjectStoreLocation(parsing: "s3://b//x/").path == "x/")
        #expect(location.description == "s3://my-bucket/backups/pg1")
    }

    @Test("file URLs give an absolute directory")
    func file() throws {
        let location = try ObjectStoreLocation(parsing: "file:///var/backups/pg/")
        #expect(location.scheme == .file)
        #expect(location.bucket == nil)
        #expect(location.path == "/var/backups/pg")
        #expect(location.description == "file:///var/backups/pg")
    }

    @Test(
        "other URLs are refused with invalid_configuration naming the reason",
        arguments: [
            ("s3:///path", "the bucket name is empty"), ("s3://", "the bucket name is empty"),
            ("gs://bucket/x", "the scheme must be s3:// or file://"), ("/plain/path", "the scheme must be s3:// or file://"),
            ("file://host/dir", "a file URL needs an absolute path"), ("file://", "a file URL needs an absolute path"),
        ])
    func invalid(url: String, reason: String) {
        do {
            _ = try ObjectStoreLocation(parsing: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("invalid destination url '\(url)'"))
            #expect(error.message.contains(reason))
        }
    }
}
