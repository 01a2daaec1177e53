import CloudCredentials
import Digests
import Foundation
import ObjectStore
import SnapfleetCore
import TestSupport
import Testing

/// The Azure Blob store against the Azure stand-in (which checks Shared Key, bearer tokens and
/// SAS signatures for real): the REST API with either credential, and the agents' SAS URLs.
@Suite("AzureBlobObjectStore on the Azure stand-in", .serialized, .requires(AzureStandIn.isAvailable, Comment(rawValue: AzureStandIn.requirement)))
struct AzureBlobObjectStoreTests {
    let azure: AzureStandIn
    let store: AzureBlobObjectStore
    let container = "catalog-\(UUID().uuidString.prefix(8).lowercased())"

    init() throws {
        azure = try AzureStandIn.shared()
        try azure.createContainer(container)
        store = try AzureBlobObjectStore(
            account: azure.storageAccount, container: container, endpoint: azure.blobEndpoint,
            credential: .sharedKey(try AzureSharedKey(account: azure.storageAccount, base64Key: Redacted(azure.storageKey))),
            singlePutThreshold: 1 << 20, blockSize: 1 << 20, retry: RetryPolicy(baseDelay: .milliseconds(10)))
    }

    /// A store on the same container with Entra ID tokens (the secret app) instead of the key.
    func bearerStore(keys: AzureDelegationKeyCache = AzureDelegationKeyCache()) throws -> AzureBlobObjectStore {
        let tokens = AzureClientSecretTokens(
            tenantID: azure.tenantID, clientID: azure.clientID, secret: Redacted(azure.clientSecret), resource: azureStorageResource,
            authority: azure.endpoint, cache: TokenCache())
        return try AzureBlobObjectStore(
            account: azure.storageAccount, container: container, endpoint: azure.blobEndpoint, credential: .tokens(tokens), delegationKeys: keys)
    }

    /// `curl` with the URL, headers and a body; returns the HTTP status and the answer's headers (lower-cased names).
    func send(_ method: String, _ url: String, headers: [String] = [], body: String? = nil) throws -> (status: Int, headers: [String: String]) {
        var arguments = ["curl", "-s", "-o", "/dev/null", "-D", "-", "-w", "%{http_code}"]
        arguments += method == "HEAD" ? ["-I"] : ["-X", method]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["-H", "Content-Type: application/octet-stream", "--data-binary", body] }
        let output = try Shell.check(arguments + [url])
        var answer: [String: String] = [:]
        for line in output.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            answer[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        // -w writes the status after the headers' blank line ("\r\n" is one Character to Swift).
        let status = Int(output.split(separator: "\r\n").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
        return (status, answer)
    }

    @Test("put, get, head and delete an object; a missing one is nil on head, not found on get, and deleted without error")
    func objectLife() throws {
        let key = "pg1/base/20261207T092801/backup_label"
        try store.put(key, body: .bytes(Array("START WAL LOCATION: 0/2000028\n".utf8)))
        #expect(String(decoding: try store.get(key), as: UTF8.self) == "START WAL LOCATION: 0/2000028\n")
        let info = try #require(try store.head(key))
        #expect(info.size == 30)
        #expect(info.etag?.hasPrefix("0x") == true, "unquoted")
        #expect(info.lastModified != nil)
        let listed = try store.list(prefix: "pg1/")
        #expect(listed.objects == [info], "the listing shows what HEAD shows")
        #expect(try store.head("pg1/base/none") == nil)
        let missing = #expect(throws: SnapfleetError.self) { try store.get("pg1/base/none") }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains("BlobNotFound") == true)
        try store.delete(key)
        try store.delete(key)
        #expect(try store.head(key) == nil)
        try store.put("pg1/empty", body: .bytes([]))
        #expect(try store.get("pg1/empty") == [], "a zero Content-Length signs as an empty line")
        let file = try TemporaryDirectory(prefix: "azblob")
        try Data("from a file".utf8).write(to: URL(fileURLWithPath: file.file("in")))
        try store.put("pg1/file", body: .file(path: file.file("in")))
        try store.download("pg1/file", to: file.file("out"))
        #expect(try String(contentsOfFile: file.file("out"), encoding: .utf8) == "from a file")
    }

    @Test("ifAbsent creates once, then 409 BlobAlreadyExists is already_exists, for one Put Blob and for blocks alike")
    func createOnly() throws {
        try store.put("once", body: .bytes([1, 2, 3]), ifAbsent: true)
        let again = #expect(throws: SnapfleetError.self) { try store.put("once", body: .bytes([4]), ifAbsent: true) }
        #expect(again?.code == .alreadyExists)
        #expect(again?.message.contains("BlobAlreadyExists (http 409)") == true, "\(again?.message ?? "")")
        #expect(try store.get("once") == [1, 2, 3])
        try store.put("once", body: .bytes([5]))
        #expect(try store.get("once") == [5], "without ifAbsent the blob is replaced")
        let big = (0..<(2_600_000)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try store.put("big", body: .bytes(big), ifAbsent: true)
        #expect(try store.get("big") == big, "three blocks of 1 MiB arrive whole and in order")
        let puts = try azure.calls().filter { $0.method == "PUT" && $0.path.hasSuffix("/\(container)/big") }
        #expect(puts.count == 4, "three Put Block and one Put Block List: \(puts)")
        let bigAgain = #expect(throws: SnapfleetError.self) { try store.put("big", body: .bytes([0]), ifAbsent: true) }
        #expect(bigAgain?.code == .alreadyExists)
        let blocksAgain = #expect(throws: SnapfleetError.self) { try store.put("big", body: .bytes(big), ifAbsent: true) }
        #expect(blocksAgain?.code == .alreadyExists, "Put Block List refused")
        #expect(try store.get("big") == big)
    }

    @Test("listings come page by page (7 a page here) and group by the delimiter")
    func listsInPages() throws {
        try ListingPages.check(store)
        let grouped = try store.list(prefix: "pg2/", delimiter: "/")
        #expect(grouped.commonPrefixes == ["pg2/base/", "pg2/wals/"])
        #expect(grouped.objects.isEmpty)
    }

    @Test("a create-only SAS PUT URL creates its blob once and is good for nothing else; HEAD gives the Content-MD5 the agent compares")
    func sasURLs() throws {
        let key = "pg3/wals/0000000100000000/000000010000000000000001"
        let put = try store.presignedURL(key: key, method: "PUT", headers: store.createOnlyHeaders, expires: 600, date: Date())
        let createOnly = store.createOnlyHeaders.map { "\($0.0): \($0.1)" }
        let md5 = Data(try MD5.hash(Array("first".utf8)).bytes).base64EncodedString()
        #expect(try send("PUT", put, headers: createOnly + ["Content-MD5: \(md5)"], body: "first").status == 201)
        #expect(try send("PUT", put, headers: createOnly, body: "second").status == 409, "BlobAlreadyExists")
        #expect(try send("PUT", put, headers: ["x-ms-blob-type: BlockBlob"], body: "second").status == 403, "sp=c never replaces a blob")
        #expect(String(decoding: try store.get(key), as: UTF8.self) == "first")
        #expect(try send("GET", put).status == 403, "a PUT URL does not read")
        let other = put.replacingOccurrences(of: "000000010000000000000001", with: "000000010000000000000002")
        #expect(try send("PUT", other, headers: createOnly, body: "x").status == 403, "nor write another blob")
        let head = try send("HEAD", try store.presignedURL(key: key, method: "HEAD", headers: [], expires: 600, date: Date()))
        #expect(head.status == 200)
        #expect(head.headers["content-md5"] == md5)
        #expect(head.headers["content-length"] == "5")
        let old = try store.presignedURL(key: key, method: "HEAD", headers: [], expires: 60, date: Date().addingTimeInterval(-1000))
        #expect(try send("HEAD", old).status == 403, "expired")
        let wrongKey = try AzureBlobObjectStore(
            account: azure.storageAccount, container: container, endpoint: azure.blobEndpoint,
            credential: .sharedKey(try AzureSharedKey(account: azure.storageAccount, base64Key: Redacted(Data(count: 64).base64EncodedString()))))
        #expect(try send("HEAD", try wrongKey.presignedURL(key: key, method: "HEAD", headers: [], expires: 600, date: Date())).status == 403)
        let delete = try store.presignedURL(key: key, method: "DELETE", headers: [], expires: 600, date: Date())
        #expect(try send("DELETE", delete).status == 202)
        #expect(try store.head(key) == nil)
    }

    @Test("with Entra ID tokens the store works by bearer and signs user delegation SASs, one delegation key for many URLs")
    func bearerAndDelegation() throws {
        let keys = AzureDelegationKeyCache()
        let bearer = try bearerStore(keys: keys)
        try bearer.put("pg4/via-bearer", body: .bytes([9]), ifAbsent: true)
        #expect(try bearer.get("pg4/via-bearer") == [9])
        let before = try azure.calls().filter { $0.path == "/\(azure.storageAccount)/" && $0.method == "POST" }.count
        let key = "pg4/wals/000000010000000000000007"
        let put = try bearer.presignedURL(key: key, method: "PUT", headers: bearer.createOnlyHeaders, expires: 600, date: Date())
        #expect(put.contains("skoid=") && put.contains("sp=c&"))
        #expect(try send("PUT", put, headers: bearer.createOnlyHeaders.map { "\($0.0): \($0.1)" }, body: "wal").status == 201)
        let get = try bearerStore(keys: keys).presignedURL(key: key, method: "GET", headers: [], expires: 3600, date: Date())
        #expect(try send("GET", get).status == 200)
        let keyCalls = try azure.calls().filter { $0.path == "/\(azure.storageAccount)/" && $0.method == "POST" }.count
        #expect(keyCalls == before + 1, "the second store reused the cached delegation key")
        #expect(throws: SnapfleetError.self) { try bearer.presignedURL(key: key, method: "GET", headers: [], expires: 604_800, date: Date()) }
    }

    @Test("refusals: a wrong key names the key as the thing to check, never prints it; a missing container says so; 503 is retried")
    func refusalsAndRetries() throws {
        let wrong = Data((0..<64).map { UInt8($0) }).base64EncodedString()
        let bad = try AzureBlobObjectStore(
            account: azure.storageAccount, container: container, endpoint: azure.blobEndpoint,
            credential: .sharedKey(try AzureSharedKey(account: azure.storageAccount, base64Key: Redacted(wrong))))
        let refused = #expect(throws: SnapfleetError.self) { try bad.put("x", body: .bytes([1])) }
        #expect(refused?.message.contains("AuthenticationFailed (http 403)") == true, "\(refused?.message ?? "")")
        #expect(refused?.hint == "check the storage account's access key")
        #expect(refused.map { !$0.description.contains(wrong) && !$0.description.contains(azure.storageKey) } == true)
        let nowhere = try AzureBlobObjectStore(
            account: azure.storageAccount, container: "no-such-container", endpoint: azure.blobEndpoint, credential: store.credential)
        let missing = #expect(throws: SnapfleetError.self) { try nowhere.list(prefix: "") }
        #expect(missing?.code == .notFound)
        #expect(missing?.hint == "create the container or fix the destination url")
        try azure.setFaults([["method": "PUT", "path_contains": "/\(container)/retried", "status": 503, "count": 2]])
        defer { try? azure.setFaults([]) }
        try store.put("retried", body: .bytes([7]))
        #expect(try store.get("retried") == [7])
        #expect(try azure.calls().filter { $0.path.hasSuffix("/\(container)/retried") && $0.method == "PUT" }.map(\.status) == [503, 503, 201])
    }
}
