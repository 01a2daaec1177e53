import CloudCredentials
import CloudSnapshots
import Messaging
import SnapfleetCore

/// Builds a server's snapshot provider from its configuration (credentials from the standard chain).
enum ProviderFactory {
    /// The provider, or why there is none.
    static func provider(for server: ServerConfig) throws(SnapfleetError) -> any SnapshotProvider {
        switch server.provider {
        case .local?:
            guard let local = server.local else { throw SnapfleetError(.invalidConfiguration, "provider local needs 'local' settings") }
            return try LocalSnapshotProvider(snapshotDirectory: local.snapshotDirectory, namedDisks: local.disks ?? [:])
        case .aws?:
            guard let aws = server.aws else { throw SnapfleetError(.invalidConfiguration, "provider aws needs 'aws' settings") }
            let credentials = try AWSCredentialChain(profile: aws.profile).credentials()
            return try AWSSnapshotProvider(credentials: credentials, region: aws.region, endpoint: aws.endpointURL)
        case nil:
            throw SnapfleetError(.invalidConfiguration, "no provider is configured", hint: "set 'provider' for this server")
        }
    }
}
