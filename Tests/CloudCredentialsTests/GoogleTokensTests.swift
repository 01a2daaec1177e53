import Foundation
import SnapfleetCore
import Testing

@testable import CloudCredentials

/// The service-account JWT against the assertions google-auth's own
/// `_make_authorization_grant_assertion` made for the same key and instant (Tests/Fixtures/gcp).
@Suite("GoogleServiceAccountTokens")
struct GoogleTokensTests {
    struct Vectors: Decodable {
        struct Case: Decodable {
            struct Inputs: Decodable {
                var iat: Int
                var scopes: [String]
                var aud: String
            }
            var name: String
            var inputs: Inputs
            var assertion: String
        }
        var jwtAssertions: [Case]

        enum CodingKeys: String, CodingKey {
            case jwtAssertions = "jwt_assertions"
        }
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gcp")

    static let vectors: [Vectors.Case] = {
        let data = try! Data(contentsOf: fixtures.appendingPathComponent("signing-vectors.json"))
        return try! JSONDecoder().decode(Vectors.self, from: data).jwtAssertions
    }()

    static func key() throws -> GoogleServiceAccountKey {
        try GoogleServiceAccountKey.load(path: fixtures.appendingPathComponent("test-service-account.json").path)
    }

    @Test("the grant assertion is google-auth's, byte for byte", arguments: vectors.map(\.name))
    func assertionMatchesGoogleAuth(_ name: String) throws {
        let vector = try #require(Self.vectors.first { $0.name == name })
        let key = try Self.key()
        #expect(key.tokenURI == vector.inputs.aud)
        let tokens = GoogleServiceAccountTokens(key: key, scope: vector.inputs.scopes.joined(separator: " "), cache: TokenCache())
        let assertion = try tokens.assertion(now: Date(timeIntervalSince1970: TimeInterval(vector.inputs.iat)))
        #expect(assertion == vector.assertion)
    }

    @Test("a key file of another type, without a field, or not JSON is refused, naming the file and never the key")
    func badKeyFiles() throws {
        let good = try String(contentsOf: Self.fixtures.appendingPathComponent("test-service-account.json"), encoding: .utf8)
        let user = good.replacingOccurrences(of: "\"service_account\"", with: "\"authorized_user\"")
        let error = #expect(throws: SnapfleetError.self) { try GoogleServiceAccountKey(json: Array(user.utf8), origin: "key.json") }
        #expect(error?.message == "key.json holds credentials of type 'authorized_user', not service_account")
        let missing = #expect(throws: SnapfleetError.self) {
            try GoogleServiceAccountKey(json: Array(#"{"type": "service_account"}"#.utf8), origin: "key.json")
        }
        #expect(missing?.message.hasPrefix("key.json is not a google service-account key file: missing key") == true)
        #expect(throws: SnapfleetError.self) { try GoogleServiceAccountKey(json: Array("not json".utf8), origin: "key.json") }
        #expect(try Self.key().description == "service account test-signer@snapfleet-test.iam.gserviceaccount.com")
    }

    @Test("tokens are cached per identity until five minutes before they expire")
    func cacheRefreshes() throws {
        let cache = TokenCache()
        var fetches = 0
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let fetch = { () throws(SnapfleetError) -> AccessToken in
            fetches += 1
            return AccessToken(value: "token-\(fetches)", expiresAt: t0.addingTimeInterval(3600))
        }
        #expect(try cache.token(for: "a", now: t0, fetch: fetch).value.value == "token-1")
        #expect(try cache.token(for: "a", now: t0.addingTimeInterval(3000), fetch: fetch).value.value == "token-1")
        #expect(try cache.token(for: "a", now: t0.addingTimeInterval(3301), fetch: fetch).value.value == "token-2")
        #expect(try cache.token(for: "b", now: t0, fetch: fetch).value.value == "token-3")
        cache.forget("b")
        #expect(try cache.token(for: "b", now: t0, fetch: fetch).value.value == "token-4")
    }
}
