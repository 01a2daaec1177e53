import Messaging
import SnapfleetConfig
import SnapfleetCore
import SnapfleetProtocol

/// The agent's configuration file (`agent.yaml`).
public struct AgentConfig: ValidatableConfig, Equatable, Sendable {
    /// The controller's endpoint, `tcp://HOST:PORT`. Required.
    public var controller: String
    /// The controller's CURVE public key (Z85): the agent talks to nothing else. Required.
    public var controllerPublicKey: CurvePublicKey
    /// The agent's CURVE key file (made by `snapfleet-agent keygen`). Required.
    public var keyFile: String
    /// libpq conninfo for the local PostgreSQL server. Required; never logged.
    public var postgres: Redacted<String>
    /// The server this agent speaks for; needed only if its key is bound to several servers.
    public var server: String?
    /// How often PostgreSQL's facts are re-read while it is up, in seconds. Default 30.
    public var factsIntervalSeconds: Int
    /// The unix socket `wal-push` and `wal-fetch` reach the agent on. Default `/run/snapfleet/agent.sock`.
    public var localSocket: String
    /// The user the local socket belongs to (mode 0600): PostgreSQL's. Default `postgres`.
    public var localSocketUser: String
    /// How many WAL files are uploaded at once. Default 4.
    public var walUploadConcurrency: Int
    /// Whether `restore --provision` may have this agent mount disks. Default false.
    public var allowMount: Bool
    /// How much WAL (in seconds, at the observed rate; at least 64 segments) the agent holds
    /// upload URLs for, so archiving outlasts a controller outage that long. Default 3600.
    public var walLookAheadSeconds: Int

    /// The default `local_socket`.
    public static let defaultLocalSocket = "/run/snapfleet/agent.sock"

    /// Creates a configuration.
    public init(
        controller: String, controllerPublicKey: CurvePublicKey, keyFile: String, postgres: Redacted<String>,
        server: String? = nil, factsIntervalSeconds: Int = 30, localSocket: String = defaultLocalSocket,
        localSocketUser: String = "postgres", walUploadConcurrency: Int = 4, walLookAheadSeconds: Int = 3600, allowMount: Bool = false
    ) {
        self.allowMount = allowMount
        self.walLookAheadSeconds = walLookAheadSeconds
        self.localSocket = localSocket
        self.localSocketUser = localSocketUser
        self.walUploadConcurrency = walUploadConcurrency
        self.controller = controller
        self.controllerPublicKey = controllerPublicKey
        self.keyFile = keyFile
        self.postgres = postgres
        self.server = server
        self.factsIntervalSeconds = factsIntervalSeconds
    }

    enum CodingKeys: String, CodingKey {
        case controller
        case controllerPublicKey = "controller_public_key"
        case keyFile = "key_file"
        case postgres
        case server
        case factsIntervalSeconds = "facts_interval_seconds"
        case localSocket = "local_socket"
        case localSocketUser = "local_socket_user"
        case walUploadConcurrency = "wal_upload_concurrency"
        case walLookAheadSeconds = "wal_look_ahead_seconds"
        case allowMount = "allow_mount"
    }

    /// Decodes, filling in the documented defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        controller = try container.decode(String.self, forKey: .controller)
        controllerPublicKey = try container.decode(CurvePublicKey.self, forKey: .controllerPublicKey)
        keyFile = try container.decode(String.self, forKey: .keyFile)
        postgres = try container.decode(Redacted<String>.self, forKey: .postgres)
        server = try container.decodeIfPresent(String.self, forKey: .server)
        factsIntervalSeconds = try container.decodeIfPresent(Int.self, forKey: .factsIntervalSeconds) ?? 30
        localSocket = try container.decodeIfPresent(String.self, forKey: .localSocket) ?? Self.defaultLocalSocket
        localSocketUser = try container.decodeIfPresent(String.self, forKey: .localSocketUser) ?? "postgres"
        walUploadConcurrency = try container.decodeIfPresent(Int.self, forKey: .walUploadConcurrency) ?? 4
        walLookAheadSeconds = try container.decodeIfPresent(Int.self, forKey: .walLookAheadSeconds) ?? 3600
        allowMount = try container.decodeIfPresent(Bool.self, forKey: .allowMount) ?? false
    }

    /// Checks the endpoint, paths, the server name and ranges.
    public func validate() throws(SnapfleetError) {
        try ConfigCheck.tcpEndpoint(controller, key: "controller")
        try ConfigCheck.absolutePath(keyFile, key: "key_file")
        try ConfigCheck.range(factsIntervalSeconds, 1...3600, key: "facts_interval_seconds")
        try ConfigCheck.absolutePath(localSocket, key: "local_socket")
        try ConfigCheck.range(walUploadConcurrency, 1...32, key: "wal_upload_concurrency")
        try ConfigCheck.range(walLookAheadSeconds, 60...86_400, key: "wal_look_ahead_seconds")
        guard !localSocketUser.isEmpty else { throw ConfigCheck.invalid("local_socket_user", "must not be empty") }
        if let server {
            do { try Wire.checkServerName(server, field: "it") } catch {
                throw ConfigCheck.invalid("server", "is not a valid server name: \(error.message)")
            }
        }
        guard !postgres.value.isEmpty else {
            throw ConfigCheck.invalid("postgres", "must not be empty", hint: "a libpq conninfo such as 'host=/var/run/postgresql dbname=postgres'")
        }
    }
}
