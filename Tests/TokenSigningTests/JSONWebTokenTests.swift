import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import TokenSigning

@Suite("JSONWebToken and Base64URL")
struct JSONWebTokenTests {
    @Test("base64url has no padding and the URL-safe alphabet, and decodes back")
    func base64URL() {
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.encode(Array("ab".utf8)) == "YWI")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
        #expect(Base64URL.decode("YWI=") == Array("ab".utf8))
        #expect(Base64URL.decode("!!") == nil)
    }

    @Test("members keep their order and are spelled as Python's json.dumps spells them")
    func jsonSpelling() {
        let text = JSONWebToken.json([("typ", .string("JWT")), ("iat", .integer(1_700_000_000)), ("q", .string("a\"b\\c\né"))])
        #expect(text == #"{"typ": "JWT", "iat": 1700000000, "q": "a\"b\\c\n\u00e9"}"#)
    }

    @Test("a token is header.claims.signature, and openssl verifies the signature over header.claims")
    func tokenVerifies() throws {
        let directory = try TemporaryDirectory(prefix: "jwt")
        _ = try ChildProcess.check(["openssl", "genpkey", "-algorithm", "RSA", "-out", directory.file("key.pem")])
        _ = try ChildProcess.check(["openssl", "pkey", "-in", directory.file("key.pem"), "-pubout", "-out", directory.file("key.pub")])
        let key = try RSAPrivateKey(pem: try String(contentsOfFile: directory.file("key.pem"), encoding: .utf8))
        let token = try JSONWebToken.rs256(
            header: [("alg", .string("RS256")), ("typ", .string("JWT"))], claims: [("iss", .string("me")), ("exp", .integer(5))], key: key)
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        #expect(Base64URL.decode(parts[0]).map { String(decoding: $0, as: UTF8.self) } == #"{"alg": "RS256", "typ": "JWT"}"#)
        #expect(Base64URL.decode(parts[1]).map { String(decoding: $0, as: UTF8.self) } == #"{"iss": "me", "exp": 5}"#)
        try Data((parts[0] + "." + parts[1]).utf8).write(to: URL(fileURLWithPath: directory.file("input")))
        try Data(try #require(Base64URL.decode(parts[2]))).write(to: URL(fileURLWithPath: directory.file("signature")))
        let verify = try Shell.run([
            "openssl", "dgst", "-sha256", "-verify", directory.file("key.pub"), "-signature", directory.file("signature"), directory.file("input"),
        ])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("a certificate's x5t and x5t#S256 are the base64url SHA-1 and SHA-256 of its DER, as openssl computes them")
    func certificateThumbprints() throws {
        let directory = try TemporaryDirectory(prefix: "cert")
        _ = try ChildProcess.check([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.file("key.pem"), "-out", directory.file("cert.pem"),
            "-days", "1", "-subj", "/CN=snapfleet-test",
        ])
        let certificate = try PEMCertificate(pem: try String(contentsOfFile: directory.file("cert.pem"), encoding: .utf8))
        for (algorithm, thumbprint) in [("-sha1", try certificate.sha1Thumbprint()), ("-sha256", try certificate.sha256Thumbprint())] {
            let fingerprint = try ChildProcess.check(["openssl", "x509", "-in", directory.file("cert.pem"), "-noout", "-fingerprint", algorithm])
            let hex = try #require(fingerprint.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(
                of: ":", with: "")
            let bytes = stride(from: 0, to: hex.count, by: 2).map { offset in
                UInt8(hex.dropFirst(offset).prefix(2), radix: 16)!
            }
            #expect(thumbprint == Base64URL.encode(bytes), "\(algorithm)")
        }
        #expect(throws: SnapfleetError.self) { try PEMCertificate(pem: "no certificate here") }
    }
}
