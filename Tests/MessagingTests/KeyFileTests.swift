import Foundation
import Messaging
import SnapfleetCore
import TestSupport
import Testing

@Suite("KeyFile: a 0600 file holding a matching key pair, nothing else")
struct KeyFileTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "keyfile", mode: 0o700)
    }

    /// Writes `text` with `mode`, as an operator (or a mistake) might have.
    func writeRaw(_ text: String, to path: String, mode: Int = 0o600) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]))
        chmod(path, mode_t(mode))
    }

    @Test("a written key file has mode 0600 and reads back as the same pair")
    func writeAndRead() throws {
        let pair = try CurveKeyPair.generate()
        let path = directory.file("agent.key")
        try KeyFile.write(pair, to: path)
        #expect(permissions(path) == 0o600)
        let read = try KeyFile.read(path)
        #expect(read.publicKey == pair.publicKey)
        #expect(read.secretKey == pair.secretKey)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("# snapfleet CURVE key pair: keep this file secret\n"))
        #expect(text.contains("public: \(pair.publicKey.z85)\n"))
    }

    @Test("writing over an existing file is refused and leaves it untouched")
    func refusesOverwrite() throws {
        let first = try CurveKeyPair.generate()
        let path = directory.file("controller.key")
        try KeyFile.write(first, to: path)
        let error = try #require(throws: SnapfleetError.self) { try KeyFile.write(CurveKeyPair.generate(), to: path) }
        #expect(error.code == .ioError)
        #expect(error.message == "\(path): cannot create key file: file exists")
        #expect(error.hint == "remove it first if you really mean to replace the key")
        #expect(try KeyFile.read(path).publicKey == first.publicKey)
    }

    @Test("a key file in a missing directory cannot be written, and says why")
    func writeIntoMissingDirectory() throws {
        let path = directory.file("missing/agent.key")
        let error = try #require(throws: SnapfleetError.self) { try KeyFile.write(CurveKeyPair.generate(), to: path) }
        #expect(error == SnapfleetError(.ioError, "\(path): cannot create key file: no such file or directory"))
    }

    @Test("a key file readable by group or others is refused", arguments: [0o640, 0o604, 0o644, 0o660])
    func refusesOpenPermissions(mode: Int) throws {
        let path = directory.file("open-\(String(mode, radix: 8)).key")
        try KeyFile.write(CurveKeyPair.generate(), to: path)
        chmod(path, mode_t(mode))
        let error = try #require(throws: SnapfleetError.self) { try KeyFile.read(path) }
        #expect(error.code == .invalidKey)
        #expect(error.message == "\(path): key file is readable by group or others")
        #expect(error.hint == "chmod 600 \(path)")
    }

    @Test("a public line that does not belong to the secret is refused")
    func mismatchedPublicKey() throws {
        let pair = try CurveKeyPair.generate()
        let other = try CurveKeyPair.generate()
        let path = directory.file("mismatch.key")
        try writeRaw("public: \(other.publicKey.z85)\nsecret: \(pair.secretKey.value)\n", to: path)
        #expect(throws: SnapfleetError(.invalidKey, "\(path): key 'public' does not belong to key 'secret'")) {
            try KeyFile.read(path)
        }
    }

    @Test(
        "a line that is not 'public:' or 'secret:' is refused",
        arguments: ["garbage\n", "private: abc\n", "PUBLIC: x\n", "secret\n"])
    func garbageLine(line: String) throws {
        let pair = try CurveKeyPair.generate()
        let path = directory.file("garbage.key")
        try writeRaw("# comment\n\n\(line)secret: \(pair.secretKey.value)\n", to: path)
        #expect(
            throws: SnapfleetError(.invalidKey, "\(path): unexpected line in key file (expected 'public:' and 'secret:')")
        ) {
            try KeyFile.read(path)
        }
    }

    @Test("a file without a secret line is refused")
    func missingSecret() throws {
        let path = directory.file("public-only.key")
        try writeRaw("public: \(try CurveKeyPair.generate().publicKey.z85)\n", to: path)
        #expect(throws: SnapfleetError(.invalidKey, "\(path): missing key 'secret'")) { try KeyFile.read(path) }
    }

    @Test("an invalid secret is refused without echoing it")
    func invalidSecretNotEchoed() throws {
        let path = directory.file("bad-secret.key")
        let notASecret = "this-is-not-z85-but-might-be-a-password"
        try writeRaw("secret: \(notASecret)\n", to: path)
        let error = try #require(throws: SnapfleetError.self) { try KeyFile.read(path) }
        #expect(error == SnapfleetError(.invalidKey, "\(path): key 'secret' is not a valid CURVE secret key"))
        #expect(!"\(error)".contains(notASecret))
    }

    @Test("surrounding blanks, blank lines and comments are tolerated")
    func toleratesFormatting() throws {
        let pair = try CurveKeyPair.generate()
        let path = directory.file("formatted.key")
        try writeRaw("# kept by ops\n  public:\t\(pair.publicKey.z85)  \n\n   \nsecret: \(pair.secretKey.value)\n", to: path)
        #expect(try KeyFile.read(path).publicKey == pair.publicKey)
    }

    @Test("CRLF line ends (a file copied through Windows) are tolerated")
    func toleratesCRLF() throws {
        let pair = try CurveKeyPair.generate()
        let path = directory.file("crlf.key")
        try writeRaw("# kept by ops\r\npublic: \(pair.publicKey.z85)\r\nsecret: \(pair.secretKey.value)\r\n", to: path)
        #expect(try KeyFile.read(path).publicKey == pair.publicKey)
    }

    @Test("a missing file is refused as invalid_key, naming the path and how to make one")
    func missingFile() throws {
        let path = directory.file("nope.key")
        let error = try #require(throws: SnapfleetError.self) { try KeyFile.read(path) }
        #expect(error.code == .invalidKey)
        #expect(error.message == "\(path): cannot read key file: no such file or directory")
        #expect(error.hint == "create one with 'keygen --out \(path)'")
    }
}
