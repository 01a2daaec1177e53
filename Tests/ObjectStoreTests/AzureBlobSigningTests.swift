import Foundation
import HTTPClient
import SnapfleetCore
import Testing

@testable import ObjectStore

/// The Shared Key and SAS signers against what azure-storage-blob's own `SharedKeyCredentialPolicy`
/// and `generate_blob_sas` made for the same requests with the same keys (Tests/Fixtures/azure,
/// scripts/lib/make_azure_vectors.py).
@Suite("Azure Blob signing against azure-storage-blob's vectors")
struct AzureBlobSigningTests {
    struct Vectors: Decodable {
        struct SharedKeyCase: Decodable {
            var name: String
            var method: String
            var url: String
            var path: String
            var query: String
            var headers: [[String]]
            var stringToSign: String
            var authorization: String
            var body: String?

            enum CodingKeys: String, CodingKey {
                case name, method, url, path, query, headers, authorization, body
                case stringToSign = "string_to_sign"
            }
        }
        struct SASCase: Decodable {
            var name: String
            var container: String
            var blob: String
            var permission: String
            var start: String
            var expiry: String
            var signedVersion: String
            var query: String
            var stringToSign: String
            var url: String

            enum CodingKeys: String, CodingKey {
                case name, container, blob, permission, start, expiry, query, url
                case signedVersion = "signed_version"
                case stringToSign = "string_to_sign"
            }
        }
        struct Delegation: Decodable {
            struct Key: Decodable {
                var signedOID, signedTID, signedStart, signedExpiry, signedService, signedVersion, value: String

                enum CodingKeys: String, CodingKey {
                    case value
                    case signedOID = "signed_oid"
                    case signedTID = "signed_tid"
                    case signedStart = "signed_start"
                    case signedExpiry = "signed_expiry"
                    case signedService = "signed_service"
                    case signedVersion = "signed_version"
                }
            }
            var key: Key
            var vectors: [SASCase]
        }
        var account: String
        var accountKey: String
        var xMsDate: String
        var sharedKey: [SharedKeyCase]
        var serviceSAS: [SASCase]
        var userDelegationSAS: Delegation

        enum CodingKeys: String, CodingKey {
            case account
            case accountKey = "account_key"
            case xMsDate = "x_ms_date"
            case sharedKey = "shared_key"
            case serviceSAS = "service_sas"
            case userDelegationSAS = "user_delegation_sas"
        }
    }

    static let vectors: Vectors = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/azure/signing-vectors.json")
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: file))
    }()

    static func sharedKey() throws -> AzureSharedKey {
        try AzureSharedKey(account: vectors.account, base64Key: Redacted(vectors.accountKey))
    }

    /// A store on the vectors' path-style endpoint.
    static func store() throws -> AzureBlobObjectStore {
        try AzureBlobObjectStore(
            account: vectors.account, container: "snapfleet", endpoint: "http://127.0.0.1:10000/\(vectors.account)",
            credential: .sharedKey(try sharedKey()))
    }

    /// `Mon, 04 May 2026 10:00:00 GMT`.
    static let vectorDate = Date(timeIntervalSince1970: 1_777_888_800)

    /// The decoded `name=value` pairs of a query, in order.
    static func pairs(_ query: String) -> [(String, String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    @Test("the string to sign and the Authorization header are the SDK's, byte for byte", arguments: vectors.sharedKey.map(\.name))
    func sharedKeyMatchesSDK(_ name: String) throws {
        let vector = try #require(Self.vectors.sharedKey.first { $0.name == name })
        let signer = AzureSharedKeySigner(key: try Self.sharedKey())
        let headers = vector.headers.map { ($0[0], $0[1]) }
        #expect(signer.stringToSign(method: vector.method, path: vector.path, query: vector.query, headers: headers) == vector.stringToSign)
        #expect(try signer.authorization(method: vector.method, path: vector.path, query: vector.query, headers: headers) == vector.authorization)
    }

    @Test(
        "the store sends the vectors' requests as the SDK signed them: url, x-ms headers and authorization", arguments: vectors.sharedKey.map(\.name))
    func storeRequestsMatchSDK(_ name: String) throws {
        let vector = try #require(Self.vectors.sharedKey.first { $0.name == name })
        let store = try Self.store()
        #expect(RFC1123Date.format(Self.vectorDate) == Self.vectors.xMsDate)
        let prefix = "/\(Self.vectors.account)/snapfleet"
        let blob = vector.path.count > prefix.count ? String(vector.path.dropFirst(prefix.count + 1)).removingPercentEncoding : nil
        let sent = vector.headers.filter { !["x-ms-date", "x-ms-version", "content-length"].contains($0[0].lowercased()) }.map { ($0[0], $0[1]) }
        let length = vector.headers.first { $0[0] == "Content-Length" }.flatMap { Int64($0[1]) } ?? 0
        let method = try #require(HTTPMethod(rawValue: vector.method))
        let call = AzureBlobCall(
            verb: "test", key: blob, method: method, path: blob.map(store.blobPath) ?? store.containerPath, query: Self.pairs(vector.query),
            headers: sent, bodyLength: length)
        let request = try store.request(call, bearer: nil, date: Self.vectorDate)
        #expect(request.url == vector.url)
        #expect(request.headers["x-ms-version"] == "2026-10-06")
        #expect(request.headers["Authorization"] == vector.authorization)
    }

    /// The SAS a vector describes, with its response-header overrides.
    static func sas(_ vector: Vectors.SASCase) -> AzureBlobSAS {
        let overrides = Dictionary(uniqueKeysWithValues: pairs(vector.query).filter { AzureBlobSAS.responseHeaderNames.contains($0.0) })
        return AzureBlobSAS(
            account: vectors.account, container: vector.container, blob: vector.blob, permissions: vector.permission, start: vector.start,
            expiry: vector.expiry, protocols: "https", version: vector.signedVersion, responseHeaders: overrides)
    }

    /// A 2026-10-06 vector's query and URL are compared whole; a 2020-12-06 one (spelled by the
    /// stand-in's generator, in another order) by its signature.
    static func checkQuery(_ query: String, _ vector: Vectors.SASCase) throws {
        if vector.signedVersion == AzureBlobSAS.currentVersion {
            #expect(query == vector.query)
            #expect(try store().origin + store().blobPath(vector.blob) + "?" + query == vector.url)
        } else {
            #expect(pairs(query).first { $0.0 == "sig" }?.1 == pairs(vector.query).first { $0.0 == "sig" }?.1)
        }
    }

    @Test("service SAS: string to sign, query and URL are the SDK's, byte for byte", arguments: vectors.serviceSAS.map(\.name))
    func serviceSASMatchesSDK(_ name: String) throws {
        let vector = try #require(Self.vectors.serviceSAS.first { $0.name == name })
        let sas = Self.sas(vector)
        #expect(sas.stringToSign(delegation: nil) == vector.stringToSign)
        try Self.checkQuery(try sas.query(sharedKey: try Self.sharedKey()), vector)
    }

    @Test("user delegation SAS: string to sign, query and URL are the SDK's, byte for byte", arguments: vectors.userDelegationSAS.vectors.map(\.name))
    func delegationSASMatchesSDK(_ name: String) throws {
        let vector = try #require(Self.vectors.userDelegationSAS.vectors.first { $0.name == name })
        let given = Self.vectors.userDelegationSAS.key
        let key = AzureUserDelegationKey(
            signedOID: given.signedOID, signedTID: given.signedTID, signedStart: given.signedStart, signedExpiry: given.signedExpiry,
            signedService: given.signedService, signedVersion: vector.signedVersion == "2020-12-06" ? "2020-12-06" : given.signedVersion,
            value: Redacted(given.value))
        let sas = Self.sas(vector)
        #expect(sas.stringToSign(delegation: key) == vector.stringToSign)
        try Self.checkQuery(try sas.query(delegation: key), vector)
    }

    @Test("sp follows the method; a create-only PUT gets c alone; other methods and long expiries are refused")
    func permissionsAndLimits() throws {
        #expect(try AzureBlobSAS.permissions(method: "GET", createOnly: false) == "r")
        #expect(try AzureBlobSAS.permissions(method: "HEAD", createOnly: false) == "r")
        #expect(try AzureBlobSAS.permissions(method: "PUT", createOnly: false) == "cw")
        #expect(try AzureBlobSAS.permissions(method: "PUT", createOnly: true) == "c")
        #expect(try AzureBlobSAS.permissions(method: "DELETE", createOnly: false) == "d")
        #expect(throws: SnapfleetError.self) { try AzureBlobSAS.permissions(method: "POST", createOnly: false) }
        let store = try Self.store()
        let url = try store.presignedURL(key: "k", method: "PUT", headers: store.createOnlyHeaders, expires: 60, date: Self.vectorDate)
        #expect(
            url.hasPrefix(
                "http://127.0.0.1:10000/snapfleettest/snapfleet/k?st=2026-05-04T09%3A45%3A00Z&se=2026-05-04T10%3A01%3A00Z&sp=c&spr=https%2Chttp&"))
        for expires in [0, 604_801] {
            #expect(throws: SnapfleetError.self) { try store.presignedURL(key: "k", method: "GET", headers: [], expires: expires, date: Date()) }
        }
    }

    @Test("x-ms header names sort as the service sorts them: dashes ignored first, then breaking ties")
    func headerCollation() {
        // The order azure-storage-blob's _storage_header_sort gives these names.
        let expected = [
            "x-ms-blob-type", "x-ms-date", "x-ms-meta-a.b", "x-ms-meta-a_b", "x-ms-meta-a1", "x-ms-meta-ab", "x-ms-meta-ab-", "x-ms-meta-a-b",
            "x-ms-meta-abc", "x-ms-meta-a-bc", "x-ms-meta-a-c", "x-ms-version",
        ]
        #expect(expected.reversed().sorted { AzureSharedKeySigner.collates($0, before: $1) } == expected)
        #expect(expected.shuffled().sorted { AzureSharedKeySigner.collates($0, before: $1) } == expected)
    }

    @Test("a key that is not base64 is refused without being echoed; the key never prints")
    func keyHandling() throws {
        let error = #expect(throws: SnapfleetError.self) { try AzureSharedKey(account: "acct", base64Key: Redacted("not*base64!")) }
        #expect(error?.message.contains("not*base64") == false)
        #expect(try Self.sharedKey().description == "shared key of snapfleettest")
        #expect(!String(reflecting: try Self.sharedKey()).contains(Self.vectors.accountKey))
    }
}
