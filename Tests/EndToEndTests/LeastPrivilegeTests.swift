import Foundation
import TestSupport
import Testing

/// The agent holds no cloud credential: nothing in its module graph or binary looks for one.
@Suite("the agent holds no cloud credential")
struct LeastPrivilegeTests {
    /// Every module the agent may be built from. Adding one is a deliberate, reviewed change.
    /// HTTPClient (libcurl) only ever sends the one-object URLs the controller signs; Digests gives
    /// their Content-MD5; the codecs compress WAL; LazyLinking loads libpq and libcurl on first use.
    /// Signing, credentials and stores stay out.
    static let agentModules: Set<String> = [
        "snapfleet-agent", "AgentCore", "ProgramSupport", "SnapfleetCore", "SnapfleetProtocol", "SnapfleetConfig",
        "Messaging", "PostgresBackup", "HostInspection", "CZeroMQ", "CPostgres",
        "HTTPClient", "CCurl", "Digests", "COpenSSL", "CompressionCodecs", "CZlib", "CZstd", "LazyLinking",
        "ArgumentParser", "Logging", "Yams",
    ]

    /// Environment variables, files and endpoints where cloud credentials live.
    static let credentialSources = [
        "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
        "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS", ".aws/credentials", "169.254.169.254",
        "GOOGLE_APPLICATION_CREDENTIALS", "metadata.google.internal", "gcloud/application_default_credentials",
        "AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_SAS_TOKEN", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT",
        // What getting a token takes: key files, grants, token endpoints and the cloud APIs themselves.
        "private_key_id", "client_assertion", "jwt-bearer", "oauth2.googleapis.com", "login.microsoftonline.com",
        "/metadata/identity/oauth2/token", "compute.googleapis.com", "management.azure.com", "SharedKey ",
    ]

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test("snapfleet-agent is built only from allowed modules (no cloud, storage or credential code)")
    func moduleGraph() throws {
        // A scratch path of its own: `swift test` holds the lock on .build while tests run.
        let scratch = try TemporaryDirectory(prefix: "dump-package")
        // SwiftPM leaves a lock file named after the scratch path in /tmp.
        defer { unlink("/tmp/" + scratch.path.replacingOccurrences(of: "/", with: "_") + ".lock") }
        let output = try Shell.check(["swift", "package", "--package-path", Self.repositoryRoot, "--scratch-path", scratch.path, "dump-package"])
        let closure = try ModuleGraph(dumpPackageJSON: Data(output.utf8)).dependencies(of: "snapfleet-agent")
        let unexpected = closure.subtracting(Self.agentModules)
        #expect(unexpected.isEmpty, "snapfleet-agent depends on \(unexpected.sorted())")
        #expect(closure.contains("PostgresBackup") && closure.contains("Messaging"), "the graph was read")
        for forbidden in ["AWSSigning", "TokenSigning", "CloudCredentials", "ObjectStore", "CloudSnapshots"] {
            #expect(!closure.contains(forbidden), "the agent must never link \(forbidden)")
        }
        let controller = try ModuleGraph(dumpPackageJSON: Data(output.utf8)).dependencies(of: "snapfleet-controller")
        #expect(!controller.contains("PostgresBackup"), "the controller never talks to PostgreSQL")
    }

    @Test(
        "the agent binary contains none of the names of cloud credential sources",
        .requires(BuiltProducts.exists("snapfleet-agent"), "run swift build first"))
    func binaryScan() throws {
        let binary = try Data(contentsOf: URL(fileURLWithPath: BuiltProducts.path("snapfleet-agent")))
        let found = Self.credentialSources.filter { binary.range(of: Data($0.utf8)) != nil }
        #expect(found.isEmpty, "found \(found)")
        // The scan itself works: it finds strings that are in the binary.
        #expect(binary.range(of: Data("snapfleet-agent".utf8)) != nil)
        #expect(binary.range(of: Data("backup_lease_expired".utf8)) != nil)
    }
}

/// Target dependencies from `swift package dump-package`.
struct ModuleGraph {
    private var edges: [String: [String]] = [:]

    init(dumpPackageJSON data: Data) throws {
        let package = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        for target in package?["targets"] as? [[String: Any]] ?? [] {
            guard let name = target["name"] as? String else { continue }
            edges[name] = (target["dependencies"] as? [[String: Any]] ?? []).compactMap(Self.dependencyName)
        }
    }

    /// The target itself and everything it depends on, directly or not.
    func dependencies(of target: String) -> Set<String> {
        var seen: Set<String> = []
        var queue = [target]
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue += edges[next] ?? []
        }
        return seen
    }

    /// `{"byName": ["X", null]}`, `{"target": ["X", null]}` or `{"product": ["X", "package", …]}` → "X".
    private static func dependencyName(_ dependency: [String: Any]) -> String? {
        for kind in ["byName", "target", "product"] {
            if let values = dependency[kind] as? [Any], let name = values.first as? String { return name }
        }
        return nil
    }
}
