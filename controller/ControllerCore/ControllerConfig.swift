import Catalog
import CloudCredentials
import CloudSnapshots
import CompressionCodecs
import Foundation
import Messaging
import ProgramSupport
import Scheduling
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol

/// The controller's configuration file (`controller.yaml`).
public struct ControllerConfig: ValidatableConfig, Equatable, Sendable {
    /// Where agents connect: `tcp://HOST:PORT` (CURVE-secured). Default `tcp://127.0.0.1:7461`.
    public var listen: String
    /// The controller's CURVE key file (made by `snapfleet-controller keygen`). Required.
    public var keyFile: String
    /// The operator commands' unix socket (mode 0600). Default `/run/snapfleet/admin.sock`.
    public var adminSocket: String
    /// How often each side sends a heartbeat, in milliseconds. Default 5000.
    public var heartbeatIntervalMs: Int
    /// How long an agent holds a backup open without hearing from the controller, in seconds. Default 60.
    public var backupLeaseSeconds: Int
    /// The fleet: server name → its settings.
    public var servers: [String: ServerConfig]
    /// Where copies of remote catalogs' `backup.info` files and records are kept, so that listing
    /// a catalog costs its listing pages only; `""` turns the cache off. Default (nil):
    /// `$XDG_CACHE_HOME/snapfleet`, else `$HOME/.cache/snapfleet`.
    public var cacheDirectory: String?
    /// The time zone schedules are read in (an IANA name such as `Europe/Paris`). Default `UTC`.
    public var timeZone: String
    /// How many backups run at once across the fleet (scheduled and on demand); the others wait
    /// their turn in the order they became due. Default 4.
    public var maxConcurrentBackups: Int
    /// The limits `status` judges the fleet by.
    public var monitoring: MonitoringThresholds
    /// On SIGTERM, how long running backups may take to finish before the controller exits
    /// anyway (its next start finishes or reconciles them), in seconds. Default 300.
    public var shutdownTimeoutSeconds: Int
    /// Where Prometheus scrapes `/metrics`: `HOST:PORT` (an IPv4 address). Default nil: no endpoint.
    public var metricsListen: String?
    /// Cloud API calls a second, on average, per provider (`aws: 20`): a token bucket with twice
    /// that as its burst. Default: 20 for every provider.
    public var apiCallsPerSecond: [String: Double]

    /// The default `listen`.
    public static let defaultListen = "tcp://127.0.0.1:7461"
    /// The default `admin_socket`.
    public static let defaultAdminSocket = "/run/snapfleet/admin.sock"

    /// Creates a configuration.
    public init(
        listen: String = defaultListen, keyFile: String, adminSocket: String = defaultAdminSocket,
        heartbeatIntervalMs: Int = 5000, backupLeaseSeconds: Int = 60, servers: [String: ServerConfig], cacheDirectory: String? = nil,
        timeZone: String = "UTC", maxConcurrentBackups: Int = 4, monitoring: MonitoringThresholds = MonitoringThresholds(),
        shutdownTimeoutSeconds: Int = 300, metricsListen: String? = nil, apiCallsPerSecond: [String: Double] = [:]
    ) {
        self.metricsListen = metricsListen
        self.apiCallsPerSecond = apiCallsPerSecond
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.cacheDirectory = cacheDirectory
        self.timeZone = timeZone
        self.maxConcurrentBackups = maxConcurrentBackups
        self.monitoring = monitoring
        self.backupLeaseSeconds = backupLeaseSeconds
        self.listen = listen
        self.keyFile = keyFile
        self.adminSocket = adminSocket
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.servers = servers
    }

    enum CodingKeys: String, CodingKey {
        case listen
        case keyFile = "key_file"
        case adminSocket = "admin_socket"
        case heartbeatIntervalMs = "heartbeat_interval_ms"
        case backupLeaseSeconds = "backup_lease_seconds"
        case servers
        case cacheDirectory = "cache_directory"
        case timeZone = "time_zone"
        case maxConcurrentBackups = "max_concurrent_backups"
        case monitoring
        case shutdownTimeoutSeconds = "shutdown_timeout_seconds"
        case metricsListen = "metrics_listen"
        case apiCallsPerSecond = "api_calls_per_second"
    }

    /// Decodes, filling in the documented defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        listen = try container.decodeIfPresent(String.self, forKey: .listen) ?? Self.defaultListen
        keyFile = try container.decode(String.self, forKey: .keyFile)
        adminSocket = try container.decodeIfPresent(String.self, forKey: .adminSocket) ?? Self.defaultAdminSocket
        heartbeatIntervalMs = try container.decodeIfPresent(Int.self, forKey: .heartbeatIntervalMs) ?? 5000
        backupLeaseSeconds = try container.decodeIfPresent(Int.self, forKey: .backupLeaseSeconds) ?? 60
        servers = try container.decodeIfPresent([String: ServerConfig].self, forKey: .servers) ?? [:]
        cacheDirectory = try container.decodeIfPresent(String.self, forKey: .cacheDirectory)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        maxConcurrentBackups = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentBackups) ?? 4
        monitoring = try container.decodeIfPresent(MonitoringThresholds.self, forKey: .monitoring) ?? MonitoringThresholds()
        shutdownTimeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .shutdownTimeoutSeconds) ?? 300
        metricsListen = try container.decodeIfPresent(String.self, forKey: .metricsListen)
        apiCallsPerSecond = try container.decodeIfPresent([String: Double].self, forKey: .apiCallsPerSecond) ?? [:]
    }

    /// The schedules' time zone (`time_zone`, checked by `validate()`; UTC if it is not known).
    public var scheduleTimeZone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }

    /// The catalog cache's directory: `cache_directory`, or its default from the environment; nil when off.
    public func resolvedCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let cacheDirectory { return cacheDirectory.isEmpty ? nil : cacheDirectory }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/snapfleet" }
        if let home = environment["HOME"], home.hasPrefix("/"), home != "/" { return home + "/.cache/snapfleet" }
        return nil
    }

    /// Checks endpoints, paths, names and ranges.
    public func validate() throws(SnapfleetError) {
        try ConfigCheck.tcpEndpoint(listen, key: "listen")
        try ConfigCheck.absolutePath(keyFile, key: "key_file")
        try ConfigCheck.absolutePath(adminSocket, key: "admin_socket")
        try ConfigCheck.range(heartbeatIntervalMs, 100...600_000, key: "heartbeat_interval_ms")
        try ConfigCheck.range(backupLeaseSeconds, 5...3600, key: "backup_lease_seconds")
        if let cacheDirectory, !cacheDirectory.isEmpty { try ConfigCheck.absolutePath(cacheDirectory, key: "cache_directory") }
        guard TimeZone(identifier: timeZone) != nil else {
            throw ConfigCheck.invalid(
                "time_zone", "'\(timeZone)' is not a time zone this host knows", hint: "an IANA name such as UTC or Europe/Paris")
        }
        try ConfigCheck.range(maxConcurrentBackups, 1...10_000, key: "max_concurrent_backups")
        try monitoring.validate()
        try ConfigCheck.range(shutdownTimeoutSeconds, 0...86_400, key: "shutdown_timeout_seconds")
        if let metricsListen, MetricsAddress(metricsListen) == nil {
            throw ConfigCheck.invalid("metrics_listen", "must be HOST:PORT with an IPv4 address", hint: "e.g. 127.0.0.1:9464")
        }
        for (provider, rate) in apiCallsPerSecond.sorted(by: { $0.key < $1.key }) {
            guard Self.providers.contains(provider) else {
                throw ConfigCheck.invalid("api_calls_per_second.\(provider)", "is not a provider", hint: Self.providers.joined(separator: ", "))
            }
            guard rate >= 0.1, rate <= 10_000 else { throw ConfigCheck.invalid("api_calls_per_second.\(provider)", "must be between 0.1 and 10000") }
        }
        for name in servers.keys.sorted() {
            do { try Wire.checkServerName(name) } catch {
                throw ConfigCheck.invalid("servers.\(name)", "is not a valid server name: \(error.message)")
            }
            try servers[name]!.validate(server: name)
        }
    }

    /// The providers `api_calls_per_second` knows.
    static let providers = ["aws", "azure", "gcp"]

    /// Each provider's calls a second (`api_calls_per_second`, 20 where it says nothing).
    public var apiRates: [String: Double] {
        Dictionary(uniqueKeysWithValues: Self.providers.map { ($0, apiCallsPerSecond[$0] ?? 20) })
    }

    /// Why `next` cannot replace this configuration in a running controller (sockets and the
    /// key are set up at start); nil when it can.
    public func reloadBlocker(_ next: ControllerConfig) -> String? {
        let fixed: [(String, Bool)] = [
            ("listen", listen == next.listen), ("key_file", keyFile == next.keyFile), ("admin_socket", adminSocket == next.adminSocket),
            ("heartbeat_interval_ms", heartbeatIntervalMs == next.heartbeatIntervalMs), ("metrics_listen", metricsListen == next.metricsListen),
        ]
        let changed = fixed.filter { !$0.1 }.map(\.0)
        guard !changed.isEmpty else { return nil }
        return "\(changed.joined(separator: ", ")) changed: that takes a restart of the controller"
    }

    /// Which servers each agent key may speak for.
    public var serversByKey: [CurvePublicKey: Set<String>] {
        servers.reduce(into: [:]) { result, entry in result[entry.value.agentKey, default: []].insert(entry.key) }
    }
}

/// One server of the fleet.
public struct ServerConfig: Codable, Equatable, Sendable {
    /// The public key (Z85) of the agent allowed to speak for this server.
    public var agentKey: CurvePublicKey
    /// Where its catalog lives: `s3://bucket/prefix` or `file:///dir` (needed for backups).
    public var destination: String?
    /// Who snapshots its disks: `aws`, `gcp`, `azure` or `local` (needed for checks and backups).
    public var provider: SnapshotProviderKind?
    /// The instance (id or name) its disks are attached to.
    public var snapshotInstance: String?
    /// The disks (ids or names) that must hold its data.
    public var snapshotDisks: [String]
    /// Tags for every snapshot.
    public var tags: [String: String]
    /// AWS settings, for `provider: aws` and `s3://` destinations.
    public var aws: AWSSettings?
    /// Google Cloud settings, for `provider: gcp` and `gs://` destinations.
    public var gcp: GCPSettings?
    /// Azure settings, for `provider: azure` and Azure Blob destinations.
    public var azure: AzureSettings?
    /// Local settings, for `provider: local`.
    public var local: LocalSettings?
    /// How the agent compresses archived WAL: `none` (default), `gzip` or `zstd`.
    public var walCompression: Compression
    /// How long a WAL URL the controller signs stays valid, in seconds (default 7200: the agent
    /// asks for an hour's worth of segments ahead).
    public var walURLLifetimeSeconds: Int
    /// The retention policy applied after every DONE backup (`REDUNDANCY n` or
    /// `RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS`); none by default: nothing is deleted.
    public var retentionPolicy: String?
    /// The fewest backups retention ever leaves (default 0).
    public var minimumRedundancy: Int
    /// When the controller backs the server up by itself, in cron's syntax (`30 2 * * *`), read in
    /// the controller's `time_zone`; none by default: only on demand.
    public var schedule: String?
    /// The name scheduled backups get: `{server}`, `{date}` (YYYY-MM-DD) and `{time}` (HHMM) are
    /// replaced; none by default.
    public var backupName: String?

    /// Creates server settings.
    public init(
        agentKey: CurvePublicKey, destination: String? = nil, provider: SnapshotProviderKind? = nil, snapshotInstance: String? = nil,
        snapshotDisks: [String] = [], tags: [String: String] = [:], aws: AWSSettings? = nil, gcp: GCPSettings? = nil,
        azure: AzureSettings? = nil, local: LocalSettings? = nil,
        walCompression: Compression = .none, walURLLifetimeSeconds: Int = 7200, retentionPolicy: String? = nil, minimumRedundancy: Int = 0,
        schedule: String? = nil, backupName: String? = nil
    ) {
        self.schedule = schedule
        self.backupName = backupName
        self.retentionPolicy = retentionPolicy
        self.minimumRedundancy = minimumRedundancy
        self.walCompression = walCompression
        self.walURLLifetimeSeconds = walURLLifetimeSeconds
        self.agentKey = agentKey
        self.destination = destination
        self.provider = provider
        self.snapshotInstance = snapshotInstance
        self.snapshotDisks = snapshotDisks
        self.tags = tags
        self.aws = aws
        self.gcp = gcp
        self.azure = azure
        self.local = local
    }

    enum CodingKeys: String, CodingKey {
        case agentKey = "agent_key"
        case destination, provider
        case snapshotInstance = "snapshot_instance"
        case snapshotDisks = "snapshot_disks"
        case tags, aws, gcp, azure, local
        case walCompression = "wal_compression"
        case walURLLifetimeSeconds = "wal_url_lifetime_seconds"
        case retentionPolicy = "retention_policy"
        case minimumRedundancy = "minimum_redundancy"
        case schedule
        case backupName = "backup_name"
    }

    /// Decodes, with empty lists and maps as defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        agentKey = try container.decode(CurvePublicKey.self, forKey: .agentKey)
        destination = try container.decodeIfPresent(String.self, forKey: .destination)
        provider = try container.decodeIfPresent(SnapshotProviderKind.self, forKey: .provider)
        snapshotInstance = try container.decodeIfPresent(String.self, forKey: .snapshotInstance)
        snapshotDisks = try container.decodeIfPresent([String].self, forKey: .snapshotDisks) ?? []
        tags = try container.decodeIfPresent([String: String].self, forKey: .tags) ?? [:]
        aws = try container.decodeIfPresent(AWSSettings.self, forKey: .aws)
        gcp = try container.decodeIfPresent(GCPSettings.self, forKey: .gcp)
        azure = try container.decodeIfPresent(AzureSettings.self, forKey: .azure)
        local = try container.decodeIfPresent(LocalSettings.self, forKey: .local)
        walCompression = try container.decodeIfPresent(Compression.self, forKey: .walCompression) ?? .none
        walURLLifetimeSeconds = try container.decodeIfPresent(Int.self, forKey: .walURLLifetimeSeconds) ?? 7200
        retentionPolicy = try container.decodeIfPresent(String.self, forKey: .retentionPolicy)
        minimumRedundancy = try container.decodeIfPresent(Int.self, forKey: .minimumRedundancy) ?? 0
        schedule = try container.decodeIfPresent(String.self, forKey: .schedule)
        backupName = try container.decodeIfPresent(String.self, forKey: .backupName)
    }

    /// How long a backup waits for its snapshots to complete, in seconds (the provider's
    /// `await_snapshots_timeout`, else an hour).
    public var awaitSnapshotsTimeout: Int {
        aws?.awaitSnapshotsTimeout ?? gcp?.awaitSnapshotsTimeout ?? azure?.awaitSnapshotsTimeout ?? 3600
    }

    /// The parsed schedule, nil when none is set.
    public func parsedSchedule() throws(SnapfleetError) -> CronSchedule? {
        guard let schedule else { return nil }
        do { return try CronSchedule(parsing: schedule) } catch { throw SnapfleetError(.invalidConfiguration, error.description) }
    }

    /// The parsed retention policy, nil when none is set.
    public func parsedRetentionPolicy() throws(SnapfleetError) -> RetentionPolicy? {
        guard let retentionPolicy else { return nil }
        do { return try RetentionPolicy(parsing: retentionPolicy) } catch {
            throw SnapfleetError(.invalidConfiguration, (error as? SnapfleetError)?.message ?? "\(error)")
        }
    }

    /// Checks that the provider's own settings are there.
    func validate(server: String) throws(SnapfleetError) {
        let key = "servers.\(server)"
        switch provider {
        case .aws? where aws == nil: throw ConfigCheck.invalid("\(key).aws", "is required with provider aws", hint: "at least 'region'")
        case .gcp? where gcp == nil:
            throw ConfigCheck.invalid("\(key).gcp", "is required with provider gcp", hint: "at least 'project' and 'zone'")
        case .azure? where azure == nil:
            throw ConfigCheck.invalid("\(key).azure", "is required with provider azure", hint: "at least 'subscription_id' and 'resource_group'")
        case .local? where local == nil:
            throw ConfigCheck.invalid("\(key).local", "is required with provider local", hint: "at least 'snapshot_directory'")
        default: break
        }
        if let local { try ConfigCheck.absolutePath(local.snapshotDirectory, key: "\(key).local.snapshot_directory") }
        try aws?.validate(key: "\(key).aws")
        try gcp?.validate(key: "\(key).gcp")
        try azure?.validate(key: "\(key).azure")
        if provider == .gcp { try GCPSettings.validateLabels(tags, key: "\(key).tags") }
        // At least ten minutes (URLs are asked for ahead of time); at most SigV4's seven days.
        try ConfigCheck.range(walURLLifetimeSeconds, 600...604_800, key: "\(key).wal_url_lifetime_seconds")
        try ConfigCheck.range(minimumRedundancy, 0...10_000, key: "\(key).minimum_redundancy")
        do { _ = try parsedRetentionPolicy() } catch {
            throw ConfigCheck.invalid("\(key).retention_policy", error.message, hint: "e.g. REDUNDANCY 7 or RECOVERY WINDOW OF 30 DAYS")
        }
        do { _ = try parsedSchedule() } catch {
            throw ConfigCheck.invalid("\(key).schedule", error.message, hint: "five cron fields, e.g. '30 2 * * *', or @daily")
        }
        if schedule != nil, destination == nil || provider == nil {
            throw ConfigCheck.invalid("\(key).schedule", "needs destination and provider: a scheduled backup must have somewhere to go")
        }
        if let backupName {
            do { _ = try BackupNameTemplate(backupName).render(server: server, at: Date(timeIntervalSince1970: 0), in: .gmt) } catch {
                throw ConfigCheck.invalid("\(key).backup_name", error.message, hint: "e.g. nightly-{date}")
            }
        }
    }
}

/// The snapshot providers a server can use.
public enum SnapshotProviderKind: String, Codable, Sendable, Equatable {
    /// AWS EC2/EBS.
    case aws
    /// Google Compute Engine persistent disks.
    case gcp
    /// Azure managed disks.
    case azure
    /// Image files behind loop devices on the controller's own host.
    case local
}

/// AWS settings of a server.
public struct AWSSettings: Codable, Equatable, Sendable {
    /// The region (`us-east-1`).
    public var region: String
    /// A profile of the shared credential files; the standard chain otherwise.
    public var profile: String?
    /// An S3/EC2-compatible endpoint (tests, S3-compatible stores).
    public var endpointURL: String?
    /// How long to wait for snapshots to complete, in seconds. Default 3600.
    public var awaitSnapshotsTimeout: Int?
    /// Locks applied to every snapshot once it completed; none by default.
    public var snapshotLock: SnapshotLockSettings?

    enum CodingKeys: String, CodingKey {
        case region, profile
        case endpointURL = "endpoint_url"
        case awaitSnapshotsTimeout = "await_snapshots_timeout"
        case snapshotLock = "snapshot_lock"
    }

    /// Checks the timeout and the lock the way EC2 (and barman-cloud) would refuse them.
    func validate(key: String) throws(SnapfleetError) {
        if let timeout = awaitSnapshotsTimeout { try ConfigCheck.range(timeout, 1...604_800, key: "\(key).await_snapshots_timeout") }
        try snapshotLock?.validate(key: "\(key).snapshot_lock")
    }
}

/// Google Cloud settings of a server.
public struct GCPSettings: Codable, Equatable, Sendable {
    /// The project of the instance, its disks and their snapshots.
    public var project: String
    /// The zone of the instance and its disks (`europe-west1-b`).
    public var zone: String
    /// A service-account key file; else `GOOGLE_APPLICATION_CREDENTIALS`, else the metadata server.
    /// Signing the agents' WAL URLs needs a key file.
    public var credentialsFile: String?
    /// The Compute Engine endpoint (tests); `https://compute.googleapis.com` by default.
    public var computeEndpoint: String?
    /// The Cloud Storage endpoint (tests); `https://storage.googleapis.com` by default.
    public var storageEndpoint: String?
    /// The metadata server (tests); `http://metadata.google.internal` by default.
    public var metadataEndpoint: String?
    /// How long to wait for snapshots to complete, in seconds. Default 3600.
    public var awaitSnapshotsTimeout: Int?

    /// Creates settings.
    public init(project: String, zone: String, credentialsFile: String? = nil) {
        self.project = project
        self.zone = zone
        self.credentialsFile = credentialsFile
    }

    enum CodingKeys: String, CodingKey {
        case project, zone
        case credentialsFile = "credentials_file"
        case computeEndpoint = "compute_endpoint"
        case storageEndpoint = "storage_endpoint"
        case metadataEndpoint = "metadata_endpoint"
        case awaitSnapshotsTimeout = "await_snapshots_timeout"
    }

    /// Project ids and zone names as Google spells them; an absolute key file; a sane timeout.
    func validate(key: String) throws(SnapfleetError) {
        guard project.wholeMatch(of: /[a-z][-a-z0-9]{4,28}[a-z0-9]/) != nil else {
            throw ConfigCheck.invalid("\(key).project", "'\(project)' is not a google cloud project id", hint: "e.g. my-project-123456")
        }
        guard zone.wholeMatch(of: /[a-z]+-[a-z]+[0-9]+-[a-z]/) != nil else {
            throw ConfigCheck.invalid("\(key).zone", "'\(zone)' is not a compute engine zone", hint: "e.g. europe-west1-b")
        }
        if let file = credentialsFile { try ConfigCheck.absolutePath(file, key: "\(key).credentials_file") }
        if let timeout = awaitSnapshotsTimeout { try ConfigCheck.range(timeout, 1...604_800, key: "\(key).await_snapshots_timeout") }
    }

    /// Snapshot tags become labels on Compute Engine: keys and values must be valid labels once lower-cased.
    static func validateLabels(_ tags: [String: String], key: String) throws(SnapfleetError) {
        for (name, value) in tags.sorted(by: { $0.key < $1.key })
        where !GCPNames.isValidLabel(key: name.lowercased(), value: value.lowercased()) {
            throw ConfigCheck.invalid(
                "\(key).\(name)", "'\(name): \(value)' cannot be a compute engine label",
                hint: "keys start with a letter; keys and values use lowercase letters, digits, _ and -, at most 63 characters")
        }
    }
}

/// Azure settings of a server: where its VM and disks are, and the credentials of an app
/// registration (a certificate or a secret) or, with neither, the VM's managed identity.
public struct AzureSettings: Codable, Equatable, Sendable {
    /// The subscription of the VM, its disks and their snapshots.
    public var subscriptionID: String
    /// Their resource group.
    public var resourceGroup: String
    /// The app registration's tenant; with `client_id`, a service principal signs in.
    public var tenantID: String?
    /// The app registration's client id.
    public var clientID: String?
    /// A file holding the client secret; else `AZURE_CLIENT_SECRET`.
    public var clientSecretFile: String?
    /// A PEM file with the app's certificate and its private key (preferred to a secret).
    public var clientCertificateFile: String?
    /// A user-assigned managed identity's client id (no tenant or client id set).
    public var managedIdentityClientID: String?
    /// A file holding the storage account's key (SharedKey and service SAS); else
    /// `AZURE_STORAGE_KEY`, else the identity's bearer tokens and user-delegation SAS.
    public var storageKeyFile: String?
    /// How long to wait for snapshots to complete, in seconds. Default 3600.
    public var awaitSnapshotsTimeout: Int?
    /// Entra ID's authority (tests); `https://login.microsoftonline.com` by default.
    public var authorityEndpoint: String?
    /// Resource Manager (tests); `https://management.azure.com` by default.
    public var managementEndpoint: String?
    /// The blob endpoint (tests); `https://ACCOUNT.blob.core.windows.net` by default.
    public var blobEndpoint: String?
    /// The instance metadata service (tests); `http://169.254.169.254` by default.
    public var imdsEndpoint: String?

    /// Creates settings.
    public init(subscriptionID: String, resourceGroup: String) {
        self.subscriptionID = subscriptionID
        self.resourceGroup = resourceGroup
    }

    enum CodingKeys: String, CodingKey {
        case subscriptionID = "subscription_id"
        case resourceGroup = "resource_group"
        case tenantID = "tenant_id"
        case clientID = "client_id"
        case clientSecretFile = "client_secret_file"
        case clientCertificateFile = "client_certificate_file"
        case managedIdentityClientID = "managed_identity_client_id"
        case storageKeyFile = "storage_key_file"
        case awaitSnapshotsTimeout = "await_snapshots_timeout"
        case authorityEndpoint = "authority_endpoint"
        case managementEndpoint = "management_endpoint"
        case blobEndpoint = "blob_endpoint"
        case imdsEndpoint = "imds_endpoint"
    }

    /// The credential settings for CloudCredentials.
    var credentials: AzureCredentialSettings {
        AzureCredentialSettings(
            tenantID: tenantID, clientID: clientID, clientSecretFile: clientSecretFile, clientCertificateFile: clientCertificateFile,
            authority: authorityEndpoint, imdsEndpoint: imdsEndpoint, managedIdentityClientID: managedIdentityClientID)
    }

    /// A GUID subscription, a resource group name as ARM allows it, a tenant and client id both
    /// or neither, absolute files, a sane timeout.
    func validate(key: String) throws(SnapfleetError) {
        let guid = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/
        guard subscriptionID.wholeMatch(of: guid) != nil else {
            throw ConfigCheck.invalid("\(key).subscription_id", "'\(subscriptionID)' is not a subscription id (a GUID)")
        }
        guard resourceGroup.wholeMatch(of: /[-\w._()]{1,90}/) != nil, !resourceGroup.hasSuffix(".") else {
            throw ConfigCheck.invalid("\(key).resource_group", "'\(resourceGroup)' is not a resource group name")
        }
        guard (tenantID == nil) == (clientID == nil) else {
            throw ConfigCheck.invalid(key, "takes tenant_id and client_id together (a service principal) or neither (a managed identity)")
        }
        for (file, name) in [
            (clientSecretFile, "client_secret_file"), (clientCertificateFile, "client_certificate_file"), (storageKeyFile, "storage_key_file"),
        ] {
            if let file { try ConfigCheck.absolutePath(file, key: "\(key).\(name)") }
        }
        if let timeout = awaitSnapshotsTimeout { try ConfigCheck.range(timeout, 1...604_800, key: "\(key).await_snapshots_timeout") }
    }
}

/// An EBS snapshot lock (`LockSnapshot`): a mode and either a duration or an expiration date.
public struct SnapshotLockSettings: Codable, Equatable, Sendable {
    /// `governance` or `compliance`.
    public var mode: String
    /// How long the lock lasts, in days (1–36500).
    public var durationDays: Int?
    /// When the lock ends, `YYYY-MM-DDTHH:MM:SS.sssZ`.
    public var expirationDate: String?
    /// Compliance only: hours (1–72) during which the lock can still be lifted.
    public var coolOffHours: Int?

    enum CodingKeys: String, CodingKey {
        case mode
        case durationDays = "duration_days"
        case expirationDate = "expiration_date"
        case coolOffHours = "cool_off_hours"
    }

    /// The policy the provider applies.
    public var policy: SnapshotLockPolicy {
        SnapshotLockPolicy(mode: mode, durationDays: durationDays, coolOffHours: coolOffHours, expirationDate: expirationDate)
    }

    /// EC2's rules: a known mode, exactly one of duration and date, cool-off only for compliance.
    func validate(key: String) throws(SnapfleetError) {
        guard mode == "governance" || mode == "compliance" else {
            throw ConfigCheck.invalid("\(key).mode", "must be governance or compliance, not '\(mode)'")
        }
        switch (durationDays, expirationDate) {
        case (nil, nil): throw ConfigCheck.invalid(key, "needs duration_days or expiration_date", hint: "e.g. duration_days: 7")
        case (.some, .some): throw ConfigCheck.invalid(key, "takes duration_days or expiration_date, not both")
        case (let days?, nil): try ConfigCheck.range(days, 1...36500, key: "\(key).duration_days")
        case (nil, let date?):
            guard date.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/) != nil else {
                throw ConfigCheck.invalid("\(key).expiration_date", "'\(date)' is not a UTC time", hint: "YYYY-MM-DDTHH:MM:SS.sssZ")
            }
        }
        guard let hours = coolOffHours else { return }
        guard mode == "compliance" else { throw ConfigCheck.invalid("\(key).cool_off_hours", "applies only to mode compliance") }
        try ConfigCheck.range(hours, 1...72, key: "\(key).cool_off_hours")
    }
}

/// Local-provider settings of a server.
public struct LocalSettings: Codable, Equatable, Sendable {
    /// Where snapshot images are kept (must exist, not on a snapshotted disk).
    public var snapshotDirectory: String
    /// Short names for disk images (`pgdata: /var/lib/snapfleet/disks/pgdata.img`).
    public var disks: [String: String]?

    enum CodingKeys: String, CodingKey {
        case snapshotDirectory = "snapshot_directory"
        case disks
    }
}
