import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import TokenSigning

/// RS256 signatures checked by the `openssl` command on keys it generated: an independent verifier.
@Suite("RSAPrivateKey")
struct RSAPrivateKeyTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "rsa")
    }

    /// Generates a key with `openssl genpkey` (PKCS#8) or `genrsa -traditional` (PKCS#1); returns its PEM.
    func generate(_ name: String, traditional: Bool = false) throws -> String {
        let path = directory.file(name)
        let command =
            traditional
            ? ["openssl", "genrsa", "-traditional", "-out", path, "2048"] : ["openssl", "genpkey", "-algorithm", "RSA", "-out", path]
        _ = try ChildProcess.check(command)
        _ = try ChildProcess.check(["openssl", "pkey", "-in", path, "-pubout", "-out", path + ".pub"])
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// Whether `openssl dgst -verify` accepts `signature` over `message` for the key `name`.
    func opensslVerifies(_ name: String, message: [UInt8], signature: [UInt8]) throws -> Bool {
        try Data(message).write(to: URL(fileURLWithPath: directory.file("message")))
        try Data(signature).write(to: URL(fileURLWithPath: directory.file("signature")))
        let result = try Shell.run([
            "openssl", "dgst", "-sha256", "-verify", directory.file(name + ".pub"), "-signature", directory.file("signature"),
            directory.file("message"),
        ])
        return result.status == 0
    }

    @Test("a PKCS#8 key's RS256 signature verifies with openssl; another message does not")
    func pkcs8SignatureVerifies() throws {
        let key = try RSAPrivateKey(pem: try generate("pkcs8.pem"))
        let message = Array("header.claims".utf8)
        let signature = try key.signSHA256(message)
        #expect(signature.count == 256)
        #expect(try opensslVerifies("pkcs8.pem", message: message, signature: signature))
        #expect(try !opensslVerifies("pkcs8.pem", message: Array("header.claimz".utf8), signature: signature))
        #expect(try key.signSHA256(message) == signature, "PKCS#1 v1.5 signatures are deterministic")
    }

    @Test("a PKCS#1 (BEGIN RSA PRIVATE KEY) key signs too")
    func pkcs1KeySigns() throws {
        let pem = try generate("pkcs1.pem", traditional: true)
        #expect(pem.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        let key = try RSAPrivateKey(pem: pem)
        let signature = try key.signSHA256(Array("x".utf8))
        #expect(try opensslVerifies("pkcs1.pem", message: Array("x".utf8), signature: signature))
        #expect(key.bits == 2048)
        #expect(key.description == "RSA private key (2048 bits)")
    }

    @Test("garbage, an EC key and an encrypted key are refused without echoing the key")
    func badKeysRefused() throws {
        let garbage = #expect(throws: SnapfleetError.self) {
            try RSAPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
        }
        #expect(garbage?.code == .invalidConfiguration)
        #expect(garbage?.message.contains("not base64") == false)

        _ = try ChildProcess.check([
            "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", directory.file("ec.pem"),
        ])
        let ec = #expect(throws: SnapfleetError.self) {
            try RSAPrivateKey(pem: try String(contentsOfFile: directory.file("ec.pem"), encoding: .utf8))
        }
        #expect(ec?.message == "the private key is not an RSA key")

        _ = try generate("plain.pem")
        _ = try ChildProcess.check([
            "openssl", "pkey", "-in", directory.file("plain.pem"), "-aes256", "-passout", "pass:secret", "-out", directory.file("encrypted.pem"),
        ])
        let encrypted = #expect(throws: SnapfleetError.self) {
            try RSAPrivateKey(pem: try String(contentsOfFile: directory.file("encrypted.pem"), encoding: .utf8))
        }
        #expect(encrypted?.message.hasPrefix("the private key is not a readable PEM key") == true)
    }
}
