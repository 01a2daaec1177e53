import CloudCredentials
import Foundation
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

/// The GCS store against the Google Cloud stand-in (fake-gcs-server behind a proxy that checks
/// tokens and V4 signatures): the JSON API with real tokens, and the agents' signed URLs.
@Suite("GCSObjectStore on the GCP stand-in", .serialized, .requires(GCPStandIn.isAvailable, Comment(rawValue: GCPStandIn.requirement)))
struct GCSObjectStoreTests {
    let gcp: GCPStandIn
    let store: GCSObjectStore
    let bucket = "catalog-\(UUID().uuidString.prefix(8).lowercased())"

    init() throws {
        gcp = try GCPStandIn.shared()
        try gcp.createBucket(bucket)
        let key = try GoogleServiceAccountKey.load(path: gcp.keyFile)
        let signer = GCSURLSigner(clientEmail: key.clientEmail, key: key.privateKey, endpoint: gcp.endpoint)
        store = try GCSObjectStore(
            bucket: bucket, endpoint: gcp.endpoint, tokens: GoogleServiceAccountTokens(key: key, cache: TokenCache()), signer: signer,
            resumableThreshold: 1 << 20, chunkSize: 256 << 10)
    }

    /// `curl` with the URL, the headers and a body; returns the HTTP status.
    func send(_ method: String, _ url: String, headers: [String] = [], body: String? = nil) throws -> Int {
        var arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method]
        if method == "HEAD" { arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"] }
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["-H", "Content-Type: application/octet-stream", "--data-binary", body] }
        return Int(try Shell.check(arguments + [url]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test("put, get, head and delete an object; a missing one is nil on head, not found on get, and deleted without error")
    func objectLife() throws {
        try store.put("pg1/base/20261207T092801/backup_label", body: .bytes(Array("START WAL LOCATION: 0/2000028\n".utf8)))
        #expect(String(decoding: try store.get("pg1/base/20261207T092801/backup_label"), as: UTF8.self) == "START WAL LOCATION: 0/2000028\n")
        let info = try #require(try store.head("pg1/base/20261207T092801/backup_label"))
        #expect(info.size == 30)
        #expect(info.lastModified != nil)
        #expect(try store.head("pg1/base/none") == nil)
        let missing = #expect(throws: SnapfleetError.self) { try store.get("pg1/base/none") }
        #expect(missing?.code == .notFound)
        try store.delete("pg1/base/20261207T092801/backup_label")
        try store.delete("pg1/base/20261207T092801/backup_label")
        #expect(try store.head("pg1/base/20261207T092801/backup_label") == nil)
    }

    @Test("ifAbsent creates once and then refuses with already_exists (ifGenerationMatch=0), small and resumable alike")
    func createOnly() throws {
        try store.put("once", body: .bytes([1, 2, 3]), ifAbsent: true)
        let again = #expect(throws: SnapfleetError.self) { try store.put("once", body: .bytes([4]), ifAbsent: true) }
        #expect(again?.code == .alreadyExists)
        #expect(try store.get("once") == [1, 2, 3])
        let big = (0..<(1_300_000)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try store.put("big", body: .bytes(big), ifAbsent: true)
        #expect(try store.get("big") == big, "a resumable upload in 256 KiB chunks arrives whole")
        let bigAgain = #expect(throws: SnapfleetError.self) { try store.put("big", body: .bytes([0]), ifAbsent: true) }
        #expect(bigAgain?.code == .alreadyExists)
    }

    @Test("listings come page by page (7 a page here) and group by the delimiter")
    func listsInPages() throws {
        try ListingPages.check(store)
    }

    @Test("a signed PUT URL with x-goog-if-generation-match: 0 creates its object once, and works for nothing else")
    func signedURLs() throws {
        let key = "pg3/wals/0000000100000000/000000010000000000000001"
        let put = try store.presignedURL(key: key, method: "PUT", headers: store.createOnlyHeaders, expires: 600, date: Date())
        #expect(try send("PUT", put, body: "first") == 400, "without the signed precondition header")
        #expect(try send("PUT", put, headers: ["x-goog-if-generation-match: 0"], body: "first") == 200)
        #expect(try send("PUT", put, headers: ["x-goog-if-generation-match: 0"], body: "second") == 412)
        #expect(String(decoding: try store.get(key), as: UTF8.self) == "first")
        #expect(try send("GET", put, headers: ["x-goog-if-generation-match: 0"]) == 403, "a PUT URL does not read")
        let other = put.replacingOccurrences(of: "000000010000000000000001", with: "000000010000000000000002")
        #expect(try send("PUT", other, headers: ["x-goog-if-generation-match: 0"], body: "x") == 403)
        let head = try store.presignedURL(key: key, method: "HEAD", headers: [], expires: 600, date: Date())
        #expect(try send("HEAD", head) == 200)
        let old = try store.presignedURL(key: key, method: "HEAD", headers: [], expires: 60, date: Date().addingTimeInterval(-120))
        #expect(try send("HEAD", old) == 400, "expired: GCS answers 400 ExpiredToken")
    }

    @Test("a store without a service-account key cannot sign, and says what is needed")
    func noKeyNoURLs() throws {
        let unsigned = try GCSObjectStore(
            bucket: bucket, endpoint: gcp.endpoint, tokens: GoogleMetadataTokens(endpoint: gcp.endpoint, cache: TokenCache()))
        let error = #expect(throws: SnapfleetError.self) {
            try unsigned.presignedURL(key: "k", method: "GET", headers: [], expires: 60, date: Date())
        }
        #expect(error?.hint?.contains("credentials_file") == true)
        try unsigned.put("via-metadata", body: .bytes([9]))
        #expect(try unsigned.get("via-metadata") == [9], "metadata-server tokens work for the JSON API")
    }

    @Test("a token the service refuses is asked for again once; a wrong key's token endpoint refusal is an error naming it")
    func refusedTokens() throws {
        let wrong = try TemporaryDirectory(prefix: "gcpkey")
        _ = try ChildProcess.check(["openssl", "genpkey", "-algorithm", "RSA", "-out", wrong.file("k.pem")])
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: gcp.keyFile))) as! [String: Any]
        json["private_key"] = try String(contentsOfFile: wrong.file("k.pem"), encoding: .utf8)
        let key = try GoogleServiceAccountKey(json: Array(try JSONSerialization.data(withJSONObject: json)), origin: "wrong.json")
        let bad = try GCSObjectStore(bucket: bucket, endpoint: gcp.endpoint, tokens: GoogleServiceAccountTokens(key: key, cache: TokenCache()))
        let error = #expect(throws: SnapfleetError.self) { try bad.put("x", body: .bytes([1])) }
        #expect(error?.message.contains("invalid_grant") == true, "\(error?.message ?? "")")
    }
}
