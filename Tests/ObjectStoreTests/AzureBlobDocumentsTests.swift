import Foundation
import HTTPClient
import SnapfleetCore
import Testing

@testable import ObjectStore

/// The Blob service's XML documents as the references show them (Tests/Fixtures/azure): a List
/// Blobs page, an error, a user delegation key.
@Suite("Azure Blob documents")
struct AzureBlobDocumentsTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/azure/\(name)")
        return Array(try Data(contentsOf: file))
    }

    @Test("a List Blobs page gives its blobs (size, unquoted etag, date), its prefixes and the next marker")
    func listPage() throws {
        let page = try AzureBlobListPage(xml: try Self.fixture("list-blobs-page.xml"))
        #expect(page.objects.map(\.key) == ["pg-primary/wals/0000000100000000000000A2"])
        #expect(page.objects.first?.size == 16_777_216)
        #expect(page.objects.first?.etag == "0x8DE89ABCDEF0123")
        #expect(page.objects.first?.lastModified == Date(timeIntervalSince1970: 1_777_888_802))
        #expect(page.commonPrefixes == ["pg-primary/wals/0000000100000001/"])
        #expect(page.nextMarker == "2!cGctcHJpbWFyeS93YWxzLzAwMDAwMDAxMDAwMDAwMDEv")
        #expect(throws: SnapfleetError.self) { try AzureBlobListPage(xml: Array("<Error/>".utf8)) }
    }

    @Test("an error keeps its code and the message's first line, not the string to sign it quotes")
    func errorDocument() throws {
        let reply = AzureBlobErrorReply(HTTPResponse(status: 403, headers: [:], body: try Self.fixture("blob-error.xml")))
        #expect(reply.code == "AuthenticationFailed")
        #expect(
            reply.summary
                == "AuthenticationFailed (http 403): Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
        )
        let head = AzureBlobErrorReply(HTTPResponse(status: 404, headers: ["x-ms-error-code": "BlobNotFound"], body: []))
        #expect(head.summary == "BlobNotFound (http 404)", "HEAD answers carry the code in a header only")
    }

    @Test("a user delegation key is read whole; its value never prints")
    func delegationKey() throws {
        let key = try AzureUserDelegationKey(xml: try Self.fixture("user-delegation-key.xml"))
        #expect(key.signedOID == "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d")
        #expect(key.signedExpiry == "2026-05-05T10:00:00Z")
        #expect(key.expiresAt == Date(timeIntervalSince1970: 1_777_975_200))
        #expect(key.signedVersion == "2026-10-06")
        #expect("\(key.value)" == "<redacted>")
        #expect(throws: SnapfleetError.self) { try AzureUserDelegationKey(xml: Array("<UserDelegationKey/>".utf8)) }
    }
}
