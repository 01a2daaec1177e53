import CloudCredentials
import Foundation
import SnapfleetCore
import Testing

@testable import ObjectStore

/// The V4 signer against the URLs google-cloud-storage's own `generate_signed_url(version="v4")`
/// made for the same requests with the same key (Tests/Fixtures/gcp, scripts/lib/make_gcp_vectors.py).
@Suite("GCSURLSigner against google-cloud-storage's vectors")
struct GCSURLSignerTests {
    struct Vectors: Decodable {
        struct Case: Decodable {
            struct Inputs: Decodable {
                var bucket: String
                var object: String
                var method: String
                var headers: [String: String]
                var contentMD5: String?
                var contentType: String?
                var expirationSeconds: Int
                var timestamp: String
                var endpoint: String

                enum CodingKeys: String, CodingKey {
                    case bucket, object, method, headers, timestamp, endpoint
                    case contentMD5 = "content_md5"
                    case contentType = "content_type"
                    case expirationSeconds = "expiration_seconds"
                }
            }
            var name: String
            var inputs: Inputs
            var canonicalRequest: String
            var stringToSign: String
            var url: String

            enum CodingKeys: String, CodingKey {
                case name, inputs, url
                case canonicalRequest = "canonical_request"
                case stringToSign = "string_to_sign"
            }
        }
        var signedURLs: [Case]

        enum CodingKeys: String, CodingKey {
            case signedURLs = "signed_urls"
        }
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gcp")

    static let vectors: [Vectors.Case] = {
        let data = try! Data(contentsOf: fixtures.appendingPathComponent("signing-vectors.json"))
        return try! JSONDecoder().decode(Vectors.self, from: data).signedURLs
    }()

    static func key() throws -> GoogleServiceAccountKey {
        try GoogleServiceAccountKey.load(path: fixtures.appendingPathComponent("test-service-account.json").path)
    }

    /// The case's headers as the controller would pass them (content type and MD5 are headers too).
    static func headers(_ inputs: Vectors.Case.Inputs) -> [(String, String)] {
        var headers = inputs.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let type = inputs.contentType { headers.append(("Content-Type", type)) }
        if let md5 = inputs.contentMD5 { headers.append(("Content-MD5", md5)) }
        return headers
    }

    static func date(_ stamp: String) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let digits = stamp.filter(\.isNumber)
        func part(_ from: Int, _ count: Int) -> Int { Int(digits.dropFirst(from).prefix(count))! }
        return calendar.date(
            from: DateComponents(year: part(0, 4), month: part(4, 2), day: part(6, 2), hour: part(8, 2), minute: part(10, 2), second: part(12, 2)))!
    }

    @Test("the canonical request, string to sign and URL are google-cloud-storage's, byte for byte", arguments: vectors.map(\.name))
    func matchesLibrary(_ name: String) throws {
        let vector = try #require(Self.vectors.first { $0.name == name })
        let key = try Self.key()
        let signer = GCSURLSigner(clientEmail: key.clientEmail, key: key.privateKey, endpoint: vector.inputs.endpoint)
        let input = vector.inputs
        let parts = try signer.signingParts(
            bucket: input.bucket, object: input.object, method: input.method, headers: Self.headers(input), expires: input.expirationSeconds,
            date: Self.date(input.timestamp))
        #expect(parts.canonicalRequest == vector.canonicalRequest)
        #expect(parts.stringToSign == vector.stringToSign)
        let url = try signer.signedURL(
            bucket: input.bucket, object: input.object, method: input.method, headers: Self.headers(input), expires: input.expirationSeconds,
            date: Self.date(input.timestamp))
        #expect(url == vector.url)
    }

    @Test("an expiry beyond seven days or below one second is refused")
    func expiryBounds() throws {
        let key = try Self.key()
        let signer = GCSURLSigner(clientEmail: key.clientEmail, key: key.privateKey)
        for expires in [0, 604_801] {
            #expect(throws: SnapfleetError.self) { try signer.signedURL(bucket: "b", object: "o", method: "GET", expires: expires, date: Date()) }
        }
    }
}
