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

    @Test("gs URLs as barman-cloud reads them: the bucket, the path without leading or trailing slashes")
    func gs() throws {
        let location = try ObjectStoreLocation(parsing: "gs://my-bucket//backups/pg1/")
        #expect(location.scheme == .gs)
        #expect(location.bucket == "my-bucket")
        #expect(location.path == "backups/pg1")
        #expect(location.description == "gs://my-bucket/backups/pg1")
    }

    @Test("Azure Blob URLs give the account, the container and the path")
    func azure() throws {
        let location = try ObjectStoreLocation(parsing: "https://snapfleetprod.blob.core.windows.net/catalog/pg/main")
        #expect(location.scheme == .azure)
        #expect(location.account == "snapfleetprod")
        #expect(location.bucket == "catalog")
        #expect(location.path == "pg/main")
        #expect(location.description == "https://snapfleetprod.blob.core.windows.net/catalog/pg/main")
        #expect(try ObjectStoreLocation(parsing: "https://snapfleetprod.blob.core.windows.net/catalog").path == "")
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
            ("ftp://bucket/x", "the scheme must be s3://, gs://"), ("/plain/path", "the scheme must be s3://, gs://"),
            ("file://host/dir", "a file URL needs an absolute path"), ("file://", "a file URL needs an absolute path"),
            ("gs:///x", "the bucket name is empty"), ("https://example.com/container/x", "the scheme must be s3://, gs://"),
            ("https://ab.blob.core.windows.net/c/x", "'ab' is not a storage account name"),
            ("https://acct.blob.core.windows.net/", "the url names no valid container"),
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
