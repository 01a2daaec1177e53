import AWSSigning
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where credentials were found.
public enum AWSCredentialSource: Sendable, Equatable {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
    case environment
    /// The shared credentials or config file, in this profile.
    case sharedFiles(profile: String)
    /// The instance role, from the metadata service.
    case instanceMetadata
}

/// The standard AWS credential chain: environment, then the shared files, then IMDSv2.
///
/// The environment is passed in (default: the process's), so tests never touch global state.
/// Errors name what was tried and never show a secret.
public final class AWSCredentialChain: Sendable {
    /// The environment variables consulted.
    public let environment: [String: String]
    /// The profile asked for explicitly, if any (it wins over `AWS_PROFILE`).
    public let explicitProfile: String?
    /// The metadata source, or nil to skip it.
    public let instanceMetadata: InstanceMetadataCredentials?

    /// Creates a chain; pass `instanceMetadata: nil` where there is no instance to ask.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, profile: String? = nil,
        instanceMetadata: InstanceMetadataCredentials? = InstanceMetadataCredentials()
    ) {
        self.environment = environment
        explicitProfile = profile
        self.instanceMetadata = instanceMetadata
    }

    /// The first credentials found.
    public func credentials() throws(SnapfleetError) -> AWSCredentials {
        try resolve().credentials
    }

    /// The first credentials found and where they came from.
    public func resolve() throws(SnapfleetError) -> (credentials: AWSCredentials, source: AWSCredentialSource) {
        var tried: [String] = []
        if let found = try fromEnvironment(&tried) { return (found, .environment) }
        if let found = try fromSharedFiles(&tried) { return (found, .sharedFiles(profile: profile)) }
        if let found = fromInstanceMetadata(&tried) { return (found, .instanceMetadata) }
        throw SnapfleetError(
            .invalidConfiguration, "no aws credentials found; tried \(tried.joined(separator: "; "))",
            hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, write ~/.aws/credentials, or run on an instance with a role")
    }

    /// The profile the shared files are read for: explicit, else `AWS_PROFILE`, else `default`.
    public var profile: String { explicitProfile ?? nonEmpty("AWS_PROFILE") ?? "default" }

    /// The shared credentials file's path.
    public var credentialsPath: String { expand(nonEmpty("AWS_SHARED_CREDENTIALS_FILE") ?? "~/.aws/credentials") }

    /// The shared config file's path.
    public var configPath: String { expand(nonEmpty("AWS_CONFIG_FILE") ?? "~/.aws/config") }

    /// Step 1; half a key pair is an error rather than a silent fall-through to other sources.
    private func fromEnvironment(_ tried: inout [String]) throws(SnapfleetError) -> AWSCredentials? {
        let keys = (nonEmpty("AWS_ACCESS_KEY_ID"), nonEmpty("AWS_SECRET_ACCESS_KEY"))
        switch keys {
        case (let id?, let secret?):
            return AWSCredentials(
                accessKeyID: id, secretAccessKey: Redacted(secret), sessionToken: nonEmpty("AWS_SESSION_TOKEN").map { Redacted($0) })
        case (nil, nil):
            tried.append("environment (AWS_ACCESS_KEY_ID not set)")
            return nil
        default:
            throw SnapfleetError(
                .invalidConfiguration, "incomplete aws credentials in the environment: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
    }

    /// Step 2; a profile chosen by name (parameter or `AWS_PROFILE`) must exist and hold keys.
    private func fromSharedFiles(_ tried: inout [String]) throws(SnapfleetError) -> AWSCredentials? {
        let files = AWSProfileFiles(credentialsText: read(credentialsPath), configText: read(configPath))
        let chosen = explicitProfile != nil || nonEmpty("AWS_PROFILE") != nil
        let settings = files.settings(of: profile)
        let id = settings["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = settings["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        if let id, let secret {
            return AWSCredentials(
                accessKeyID: id, secretAccessKey: Redacted(secret), sessionToken: settings["aws_session_token"].map { Redacted($0) })
        }
        let problem =
            files.hasProfile(profile)
            ? "aws profile \(profile) has no aws_access_key_id and aws_secret_access_key" : "aws profile \(profile) not found"
        if chosen || (id == nil) != (secret == nil) {
            throw SnapfleetError(.invalidConfiguration, "\(problem) in \(credentialsPath) or \(configPath)")
        }
        tried.append("shared files (\(problem) in \(credentialsPath) or \(configPath))")
        return nil
    }

    /// Step 3, unless disabled (no source, or `AWS_EC2_METADATA_DISABLED=true`); failures are only reported.
    private func fromInstanceMetadata(_ tried: inout [String]) -> AWSCredentials? {
        guard let instanceMetadata, nonEmpty("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" else {
            tried.append("instance metadata (disabled)")
            return nil
        }
        do {
            return try instanceMetadata.credentials()
        } catch {
            tried.append("instance metadata (\(error.message))")
            return nil
        }
    }

    /// An environment variable's value, nil if unset or empty.
    private func nonEmpty(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `~/…` under `HOME`.
    private func expand(_ path: String) -> String {
        guard path.hasPrefix("~/"), let home = nonEmpty("HOME") else { return path }
        return home + path.dropFirst()
    }

    /// A file's text, nil if it cannot be read.
    private func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
