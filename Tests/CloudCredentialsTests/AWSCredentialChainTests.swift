import AWSSigning
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudCredentials

/// The credential chain's environment and shared-file sources, and their precedence.
@Suite("AWSCredentialChain")
struct AWSCredentialChainTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "aws-credentials")
    }

    /// A chain over `environment` (HOME pointing at the temporary directory) and no metadata service.
    func chain(_ environment: [String: String], profile: String? = nil) -> AWSCredentialChain {
        AWSCredentialChain(environment: ["HOME": directory.path].merging(environment) { $1 }, profile: profile, instanceMetadata: nil)
    }

    /// Writes `~/.aws/credentials` and `~/.aws/config` under the temporary home.
    func writeFiles(credentials: String?, config: String?) throws {
        try FileManager.default.createDirectory(atPath: directory.file(".aws"), withIntermediateDirectories: true)
        try credentials?.write(toFile: directory.file(".aws/credentials"), atomically: true, encoding: .utf8)
        try config?.write(toFile: directory.file(".aws/config"), atomically: true, encoding: .utf8)
    }

    static let credentialsFile = """
        # comment
        [default]
        aws_access_key_id = AKIDEFAULT
        aws_secret_access_key = default-secret

        [ci]
        aws_access_key_id=AKIDCI
        aws_secret_access_key=ci-secret
        aws_session_token = ci-token
        """

    static let configFile = """
        [default]
        region = eu-west-1
        [profile from-config]
        aws_access_key_id = AKIDCONFIG
        aws_secret_access_key = config-secret
        [from-config]
        aws_access_key_id = AKIDWRONGSECTION
        aws_secret_access_key = wrong
        """

    @Test("environment keys, with a session token")
    func environment() throws {
        let found = try chain(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token"]).resolve()
        #expect(found.source == .environment)
        #expect(found.credentials.accessKeyID == "AKIDENV")
        #expect(found.credentials.secretAccessKey.value == "env-secret")
        #expect(found.credentials.sessionToken?.value == "env-token")
    }

    @Test("the environment wins over the shared files")
    func precedence() throws {
        try writeFiles(credentials: Self.credentialsFile, config: nil)
        let found = try chain(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret"]).resolve()
        #expect(found.source == .environment)
        #expect(try chain([:]).resolve().source == .sharedFiles(profile: "default"))
    }

    @Test("half a key pair in the environment is an error, not a fall-through")
    func partialEnvironment() throws {
        try writeFiles(credentials: Self.credentialsFile, config: nil)
        let error = try #require(throws: SnapfleetError.self) { try chain(["AWS_ACCESS_KEY_ID": "AKIDENV"]).resolve() }
        #expect(error.code == .invalidConfiguration)
    }

    @Test("the default profile from ~/.aws/credentials")
    func defaultProfile() throws {
        try writeFiles(credentials: Self.credentialsFile, config: Self.configFile)
        let found = try chain([:]).resolve()
        #expect(found.credentials.accessKeyID == "AKIDEFAULT")
        #expect(found.credentials.secretAccessKey.value == "default-secret")
        #expect(found.credentials.sessionToken == nil)
    }

    @Test("a named profile: the parameter wins over AWS_PROFILE, which wins over default")
    func namedProfile() throws {
        try writeFiles(credentials: Self.credentialsFile, config: Self.configFile)
        let fromEnvironment = try chain(["AWS_PROFILE": "ci"]).resolve()
        #expect(fromEnvironment.source == .sharedFiles(profile: "ci"))
        #expect(fromEnvironment.credentials.sessionToken?.value == "ci-token")
        let explicit = try chain(["AWS_PROFILE": "ci"], profile: "from-config").resolve()
        #expect(explicit.credentials.accessKeyID == "AKIDCONFIG")
    }

    @Test("the config file's sections are [profile NAME], and paths can be overridden")
    func overriddenPaths() throws {
        let credentials = directory.file("elsewhere-credentials")
        let config = directory.file("elsewhere-config")
        try "[ci]\naws_access_key_id = AKIDMOVED\naws_secret_access_key = moved\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        try Self.configFile.write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ["AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config]
        #expect(try chain(environment, profile: "ci").credentials().accessKeyID == "AKIDMOVED")
        #expect(try chain(environment, profile: "from-config").credentials().accessKeyID == "AKIDCONFIG")
    }

    @Test("a missing named profile is an error naming it and the files")
    func missingProfile() throws {
        try writeFiles(credentials: Self.credentialsFile, config: Self.configFile)
        let error = try #require(throws: SnapfleetError.self) { try chain([:], profile: "nope").resolve() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.contains("aws profile nope not found"), "\(error.message)")
        #expect(error.message.contains(directory.file(".aws/credentials")))
    }

    @Test("nothing anywhere: one error listing what was tried, with no secret in it")
    func nothingFound() throws {
        try writeFiles(credentials: nil, config: "[default]\nregion = eu-west-1\naws_secret_access_key_typo = top-secret\n")
        let error = try #require(throws: SnapfleetError.self) { try chain([:]).resolve() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.message.contains("environment") && error.message.contains("shared files") && error.message.contains("instance metadata"))
        #expect(!error.description.contains("top-secret"))
    }

    @Test("config-file parsing skips comments, nested settings and non-profile sections")
    func parsing() {
        let files = AWSProfileFiles(
            credentialsText: nil,
            configText: "[sso-session x]\nsso_region = a\n[profile p]\n; c\nregion = r\ns3 =\n  max_concurrent_requests = 10\n")
        #expect(files.config == ["p": ["region": "r", "s3": ""]])
    }
}
