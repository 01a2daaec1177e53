import AWSSigning
import Foundation
import SnapfleetCore
import Testing

@Suite("SigV4Signer")
struct SigV4SignerTests {
    /// 2015-08-30T12:36:00Z, the time of the AWS test suite.
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)
    /// 2013-05-24T00:00:00Z, the time of the S3 examples.
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)
    static let suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    static func suiteSigner(token: String? = nil) -> SigV4Signer {
        let credentials = AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: Redacted(suiteSecret), sessionToken: token.map(Redacted.init))
        return SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
    }

    static func s3Signer(token: String? = nil) -> SigV4Signer {
        let credentials = AWSCredentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: Redacted(S3HeaderExample.secret),
            sessionToken: token.map(Redacted.init))
        return SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
    }

    static func suiteRequest(_ vector: SuiteVector) throws -> SignableRequest {
        let url =
            vector.rawPath
            ? RequestURL(scheme: "https", host: "example.amazonaws.com", path: vector.target)
            : try RequestURL(parsing: "https://example.amazonaws.com" + vector.target)
        return SignableRequest(
            method: vector.method, url: url, headers: vector.headers, payload: .bytes(Array(vector.body.utf8)))
    }

    @Test("every AWS SigV4 test-suite vector gives the published canonical request, string to sign and authorization", arguments: SuiteVector.all)
    func suiteVector(_ vector: SuiteVector) throws {
        let signer = Self.suiteSigner(token: vector.usesSessionToken ? SuiteVector.sessionToken : nil)
        let result = try signer.signature(for: Self.suiteRequest(vector), date: Self.suiteDate)
        #expect(result.canonicalRequest == vector.creq)
        #expect(result.stringToSign == vector.sts)
        #expect(result.headers.last == HeaderField("Authorization", vector.authz))
        #expect(result.headers.first == HeaderField("X-Amz-Date", "20150830T123600Z"))
        let token = result.headers.first { $0.name == "X-Amz-Security-Token" }?.value
        #expect(token == (vector.usesSessionToken ? SuiteVector.sessionToken : nil))
        #expect(!result.headers.contains { $0.name.lowercased() == "x-amz-content-sha256" })
    }

    @Test("every S3 header-signing example gives the published canonical request, string to sign and signature", arguments: S3HeaderExample.all)
    func s3HeaderExample(_ example: S3HeaderExample) throws {
        let request = SignableRequest(
            method: example.method, url: try RequestURL(parsing: example.url), headers: example.headers,
            payload: .bytes(Array(example.body.utf8)))
        let result = try Self.s3Signer().signature(for: request, date: Self.s3Date)
        #expect(result.canonicalRequest == example.creq)
        #expect(result.stringToSign == example.sts)
        #expect(result.signature == example.signature)
        let signedHeaders = example.creq.split(separator: "\n", omittingEmptySubsequences: false).dropLast().last ?? ""
        let authorization =
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=\(signedHeaders), Signature=\(example.signature)"
        #expect(result.headers.last == HeaderField("Authorization", authorization))
        let contentHash = example.creq.split(separator: "\n").last.map(String.init)
        #expect(result.headers.first { $0.name == "x-amz-content-sha256" }?.value == contentHash)
    }

    @Test("the S3 presigned GET example gives the published canonical request, string to sign and URL")
    func s3PresignExample() throws {
        let url = try RequestURL(parsing: "https://examplebucket.s3.amazonaws.com/test.txt")
        let result = try Self.s3Signer().presign(method: "GET", url: url, expires: 86_400, date: Self.s3Date)
        #expect(result.canonicalRequest == S3PresignExample.creq)
        #expect(result.stringToSign == S3PresignExample.sts)
        #expect(result.url == S3PresignExample.url)
        #expect(try Self.s3Signer().presignedURL(method: "GET", url: url, expires: 86_400, date: Self.s3Date) == S3PresignExample.url)
    }

    @Test("presigning signs the given headers, keeps the URL's query, and puts the signature last")
    func presignWithHeaders() throws {
        let url = try RequestURL(parsing: "https://bucket.s3.eu-west-1.amazonaws.com/wal/000000010000000000000001?x-id=PutObject")
        let result = try Self.s3Signer(token: "session/token+1").presign(
            method: "PUT", url: url, headers: [HeaderField("If-None-Match", "*")], expires: 600, date: Self.s3Date)
        #expect(result.url.hasPrefix("https://bucket.s3.eu-west-1.amazonaws.com/wal/000000010000000000000001?X-Amz-Algorithm="))
        #expect(
            result.url.contains("&X-Amz-Security-Token=session%2Ftoken%2B1&X-Amz-SignedHeaders=host%3Bif-none-match&x-id=PutObject&X-Amz-Signature="))
        #expect(result.url.hasSuffix("&X-Amz-Signature=\(result.signature)"))
        #expect(result.canonicalRequest.contains("\nhost:bucket.s3.eu-west-1.amazonaws.com\nif-none-match:*\n\nhost;if-none-match\nUNSIGNED-PAYLOAD"))
    }

    @Test("presigning a presigned URL again replaces its authorization parameters")
    func represign() throws {
        let url = try RequestURL(parsing: "https://examplebucket.s3.amazonaws.com/test.txt")
        let first = try Self.s3Signer().presignedURL(method: "GET", url: url, expires: 86_400, date: Self.s3Date)
        let again = try Self.s3Signer().presignedURL(method: "GET", url: RequestURL(parsing: first), expires: 86_400, date: Self.s3Date)
        #expect(again == first)
    }

    @Test("presigned URLs expire after 1 to 604800 seconds, and other expiries are refused", arguments: [0, -5, 604_801])
    func expiryOutOfRange(_ expires: Int) throws {
        let url = try RequestURL(parsing: "https://examplebucket.s3.amazonaws.com/test.txt")
        let error = #expect(throws: SnapfleetError.self) {
            try Self.s3Signer().presignedURL(method: "GET", url: url, expires: expires, date: Self.s3Date)
        }
        #expect(error?.code == .internalError)
        #expect(error?.message == "presigned url expiry must be 1…604800 seconds, got \(expires)")
        for valid in [1, 604_800] {
            _ = try Self.s3Signer().presignedURL(method: "GET", url: url, expires: valid, date: Self.s3Date)
        }
    }

    @Test("a presigned URL for a service other than S3 signs the hash of an empty body")
    func presignOtherService() throws {
        let url = try RequestURL(parsing: "https://example.amazonaws.com/")
        let result = try Self.suiteSigner().presign(method: "GET", url: url, expires: 60, date: Self.suiteDate)
        #expect(result.canonicalRequest.hasSuffix("\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test("S3 accepts an unsigned payload and names it in x-amz-content-sha256")
    func s3UnsignedPayload() throws {
        let request = SignableRequest(
            method: "PUT", url: try RequestURL(parsing: "https://examplebucket.s3.amazonaws.com/big"), payload: .unsigned)
        let result = try Self.s3Signer().signature(for: request, date: Self.s3Date)
        #expect(
            result.canonicalRequest.hasSuffix(
                "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"))
        #expect(result.headers.map(\.name) == ["X-Amz-Date", "x-amz-content-sha256", "Authorization"])
    }

    @Test("a service other than S3 refuses an unsigned payload")
    func unsignedRefused() throws {
        let request = SignableRequest(method: "POST", url: try RequestURL(parsing: "https://ec2.us-east-1.amazonaws.com/"), payload: .unsigned)
        let error = #expect(throws: SnapfleetError.self) { try Self.suiteSigner().sign(request: request, date: Self.suiteDate) }
        #expect(error?.code == .internalError)
        #expect(error?.message == "service service does not accept an unsigned payload")
    }

    @Test("a precomputed payload hash is signed as given, and a malformed one is refused")
    func precomputedPayloadHash() throws {
        let hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        var request = SignableRequest(
            method: "PUT", url: try RequestURL(parsing: "https://examplebucket.s3.amazonaws.com/test%24file.text"),
            headers: S3HeaderExample.all[1].headers, payload: .sha256(hash))
        #expect(try Self.s3Signer().signature(for: request, date: Self.s3Date).signature == S3HeaderExample.all[1].signature)
        for bad in ["abc", hash.uppercased(), String(hash.dropLast()) + "g"] {
            request.payload = .sha256(bad)
            let error = #expect(throws: SnapfleetError.self) { try Self.s3Signer().sign(request: request, date: Self.s3Date) }
            #expect(error?.message == "payload sha-256 must be 64 lowercase hex digits")
        }
    }

    @Test("headers the signer sets itself replace the caller's, and a given Host header wins over the URL")
    func replacedHeaders() throws {
        let vanilla = SuiteVector.all[0]
        var request = try Self.suiteRequest(vanilla)
        request.headers = [
            HeaderField("authorization", "stale"), HeaderField("X-AMZ-DATE", "19700101T000000Z"),
            HeaderField("Host", "example.amazonaws.com"),
        ]
        let result = try Self.suiteSigner().signature(for: request, date: Self.suiteDate)
        #expect(result.canonicalRequest == vanilla.creq)
        #expect(result.headers.last == HeaderField("Authorization", vanilla.authz))
    }

    @Test("a signer reused across days signs each day with that day's key")
    func keyPerDay() throws {
        let signer = Self.suiteSigner()
        let request = try Self.suiteRequest(SuiteVector.all[0])
        let nextDay = Self.suiteDate.addingTimeInterval(86_400)
        let first = try signer.sign(request: request, date: Self.suiteDate)
        let second = try signer.sign(request: request, date: nextDay)
        #expect(second.last?.value.contains("Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request") == true)
        #expect(try signer.sign(request: request, date: Self.suiteDate) == first)
        #expect(try Self.suiteSigner().sign(request: request, date: nextDay) == second)
    }

    @Test("S3 signs the path as sent, without normalizing it or encoding it twice")
    func s3PathAsSent() throws {
        let request = SignableRequest(
            method: "GET", url: try RequestURL(parsing: "https://b.s3.amazonaws.com/a/./b//c%3a%2Fd~e"))
        let result = try Self.s3Signer().signature(for: request, date: Self.s3Date)
        #expect(result.canonicalRequest.hasPrefix("GET\n/a/./b//c%3A%2Fd~e\n\n"))
    }

    @Test("the signer's description names region, service and key id but never the secret or token")
    func description() {
        let signer = Self.suiteSigner(token: "the-token")
        for text in [String(describing: signer), String(reflecting: signer)] {
            #expect(!text.contains(Self.suiteSecret))
            #expect(!text.contains("the-token"))
        }
        #expect(signer.description == "SigV4Signer(region: us-east-1, service: service, accessKeyID: AKIDEXAMPLE)")
    }

    @Test("signing results print no token, signature or query")
    func resultDescriptions() throws {
        let signer = Self.s3Signer(token: "the-token")
        let url = try RequestURL(parsing: "https://examplebucket.s3.amazonaws.com/test.txt")
        let signed = try signer.signature(for: SignableRequest(method: "GET", url: url), date: Self.s3Date)
        let presigned = try signer.presign(method: "GET", url: url, expires: 60, date: Self.s3Date)
        for value in [signed as Any, presigned as Any, signed.headers as Any] {
            var dumped = ""
            dump(value, to: &dumped)
            for text in [String(describing: value), String(reflecting: value), dumped] {
                #expect(!text.contains("the-token"))
                #expect(!text.contains(signed.signature))
                #expect(!text.contains(presigned.signature))
                #expect(!text.contains(S3HeaderExample.secret))
            }
        }
        #expect(presigned.description == "PresignedRequest(https://examplebucket.s3.amazonaws.com/test.txt?<redacted>)")
    }
}
