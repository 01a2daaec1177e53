import Catalog
import CloudCredentials
import CloudSnapshots
import Messaging
import SnapfleetCore

/// Builds a server's snapshot provider from its configuration (credentials from the standard chain).
enum ProviderFactory {
    /// The provider, or why there is none.
    static func provider(for server: ServerConfig) throws(SnapfleetError) -> any CloudSnapshots.SnapshotProvider {
        switch server.provider {
        case .local?:
            guard let local = server.local else { throw SnapfleetError(.invalidConfiguration, "provider local needs 'local' settings") }
            return try LocalSnapshotProvider(snapshotDirectory: local.snapshotDirectory, namedDisks: local.disks ?? [:])
        case .aws?:
            guard let aws = server.aws else { throw SnapfleetError(.invalidConfiguration, "provider aws needs 'aws' settings") }
            let credentials = try AWSCredentialChain(profile: aws.profile).credentials()
            return try AWSSnapshotProvider(credentials: credentials, region: aws.region, endpoint: aws.endpointURL)
        case .gcp?:
            guard let gcp = server.gcp else { throw SnapfleetError(.invalidConfiguration, "provider gcp needs 'gcp' settings") }
            return try gcpProvider(gcp, project: gcp.project)
        case .azure?:
            guard let azure = server.azure else { throw SnapfleetError(.invalidConfiguration, "provider azure needs 'azure' settings") }
            return try azureProvider(azure, subscription: azure.subscriptionID, resourceGroup: azure.resourceGroup)
        case nil:
            throw SnapfleetError(.invalidConfiguration, "no provider is configured", hint: "set 'provider' for this server")
        }
    }

    /// Compute Engine in `project` with the settings' credentials and endpoints.
    static func gcpProvider(_ gcp: GCPSettings, project: String) throws(SnapfleetError) -> GCPSnapshotProvider {
        let tokens = try GoogleCredentials.tokens(keyFile: gcp.credentialsFile, metadataEndpoint: gcp.metadataEndpoint)
        return GCPSnapshotProvider(client: GCPComputeClient(project: project, endpoint: gcp.computeEndpoint, tokens: tokens), zone: gcp.zone)
    }

    /// Resource Manager in `subscription`/`resourceGroup` with the settings' credentials and endpoints.
    static func azureProvider(_ azure: AzureSettings, subscription: String, resourceGroup: String) throws(SnapfleetError) -> AzureSnapshotProvider {
        let tokens = try AzureCredentials.tokens(azure.credentials, resource: azureManagementResource)
        let client = AzureComputeClient(subscription: subscription, resourceGroup: resourceGroup, endpoint: azure.managementEndpoint, tokens: tokens)
        return AzureSnapshotProvider(client: client)
    }

    /// The provider that can delete the snapshots a backup recorded: the recorded provider, in the
    /// recorded region (barman's rule: a backup's snapshots are where its backup.info says), with
    /// the server's credentials and endpoint.
    static func provider(for server: ServerConfig, recorded snapshots: SnapshotsInfo) throws(SnapfleetError) -> any CloudSnapshots.SnapshotProvider {
        switch snapshots {
        case .aws(let recorded):
            guard let aws = server.aws else {
                throw SnapfleetError(.invalidConfiguration, "this backup's snapshots are on AWS: the server needs 'aws' settings to delete them")
            }
            let credentials = try AWSCredentialChain(profile: aws.profile).credentials()
            return try AWSSnapshotProvider(credentials: credentials, region: recorded.region ?? aws.region, endpoint: aws.endpointURL)
        case .local:
            return try provider(for: server)
        case .gcp(let recorded):
            guard let gcp = server.gcp else {
                throw SnapfleetError(.invalidConfiguration, "this backup's snapshots are on GCP: the server needs 'gcp' settings to delete them")
            }
            // barman's rule: the recorded project, the configured zone (snapshots are global, disks zonal).
            return try gcpProvider(gcp, project: recorded.project ?? gcp.project)
        case .azure(let recorded):
            guard let azure = server.azure else {
                throw SnapfleetError(
                    .invalidConfiguration, "this backup's snapshots are on Azure: the server needs 'azure' settings to delete them")
            }
            // The recorded subscription and resource group: snapshots stay where the backup made them.
            return try azureProvider(
                azure, subscription: recorded.subscriptionID ?? azure.subscriptionID, resourceGroup: recorded.resourceGroup ?? azure.resourceGroup)
        }
    }
}
