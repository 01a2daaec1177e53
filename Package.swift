// swift-tools-version:6.0
// snapfleet: PostgreSQL snapshot backups for a fleet, split into a credential-free agent
// on every database host and a central controller that alone talks to the cloud.
import PackageDescription

/// A system library found through pkg-config, with the Debian package that provides it.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "snapfleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "snapfleet-agent", targets: ["snapfleet-agent"]),
        .executable(name: "snapfleet-controller", targets: ["snapfleet-controller"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, each behind a module map (and a few typed shims where Swift cannot call the API).
        systemLibrary("CZeroMQ", pkgConfig: "libzmq", apt: "libzmq3-dev"),
        // libpq and libcurl without pkgConfig: SwiftPM links a system library's pkg-config libs (-lpq, -lcurl)
        // into every product that depends on it, which would load them at exec; LazyLinking dlopens them instead.
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres"),  // apt: libpq-dev
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),  // apt: libcurl4-openssl-dev
        systemLibrary("COpenSSL", pkgConfig: "libcrypto", apt: "libssl-dev"),
        // WAL compression in barman-cloud's formats (gzip, zstd).
        systemLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),
        systemLibrary("CZstd", pkgConfig: "libzstd", apt: "libzstd-dev"),

        // Libraries, one concern each.
        // libpq and libcurl are dlopen'ed on first use through trampolines of their functions, not loaded at exec.
        .target(name: "LazyLinking", dependencies: ["CPostgres", "CCurl"], linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "SnapfleetCore"),
        .target(name: "SnapfleetProtocol", dependencies: ["SnapfleetCore"]),
        .target(name: "SnapfleetConfig", dependencies: ["SnapfleetCore", "Yams"]),
        .target(
            name: "Messaging",
            dependencies: ["CZeroMQ", "SnapfleetCore", "SnapfleetProtocol", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "PostgresBackup", dependencies: ["CPostgres", "LazyLinking", "SnapfleetCore"]),
        .target(name: "HostInspection", dependencies: ["SnapfleetCore"]),
        .target(name: "Catalog", dependencies: ["SnapfleetCore"]),
        .target(name: "Scheduling"),
        .target(name: "Digests", dependencies: ["COpenSSL", "SnapfleetCore"]),
        .target(name: "CompressionCodecs", dependencies: ["CZlib", "CZstd", "SnapfleetCore"]),
        .target(name: "HTTPClient", dependencies: ["CCurl", "LazyLinking", "SnapfleetCore"]),
        .target(name: "AWSSigning", dependencies: ["Digests", "SnapfleetCore"]),
        // RS256 (RSA keys from PEM, certificates' thumbprints, JWTs): Google and Entra ID credentials, GCS signed URLs.
        .target(name: "TokenSigning", dependencies: ["COpenSSL", "Digests", "SnapfleetCore"]),
        .target(name: "CloudXML", dependencies: ["SnapfleetCore"]),
        .target(
            name: "ObjectStore",
            dependencies: ["HTTPClient", "AWSSigning", "CloudXML", "Digests", "SnapfleetCore", "CloudCredentials", "TokenSigning"]
        ),
        .target(name: "CloudCredentials", dependencies: ["SnapfleetCore", "AWSSigning", "HTTPClient", "TokenSigning"]),
        .target(
            name: "CloudSnapshots",
            dependencies: ["SnapfleetCore", "HTTPClient", "AWSSigning", "CloudXML", "HostInspection", "CloudCredentials"]
        ),
        .target(
            name: "ProgramSupport",
            dependencies: ["SnapfleetCore", "Messaging", "LazyLinking", .product(name: "Logging", package: "swift-log")]
        ),

        // The agent: library (testable logic) + thin executable.
        .target(
            name: "AgentCore",
            dependencies: [
                "SnapfleetCore", "SnapfleetProtocol", "SnapfleetConfig", "Messaging", "PostgresBackup",
                "HostInspection", "ProgramSupport", "HTTPClient", "CompressionCodecs", "Digests",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "agent/AgentCore"
        ),
        .executableTarget(
            name: "snapfleet-agent",
            dependencies: [
                "AgentCore", "ProgramSupport", "Messaging", "SnapfleetConfig", "SnapfleetCore", "SnapfleetProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "agent/snapfleet-agent"
        ),

        // Many agents in one process: the fleet scale test and bench/fleet (not a product).
        .executableTarget(
            name: "snapfleet-fleet-agents",
            dependencies: ["AgentCore", "ProgramSupport", "SnapfleetConfig", "SnapfleetCore", .product(name: "Logging", package: "swift-log")],
            path: "bench/fleet-agents"
        ),

        // The controller: library (testable logic) + thin executable.
        .target(
            name: "ControllerCore",
            dependencies: [
                "SnapfleetCore", "SnapfleetProtocol", "SnapfleetConfig", "Messaging", "ProgramSupport", "CloudSnapshots",
                "CloudCredentials", "Catalog", "ObjectStore", "CompressionCodecs", "Digests", "Scheduling",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "controller/ControllerCore"
        ),
        .executableTarget(
            name: "snapfleet-controller",
            dependencies: ["ControllerCore", "ProgramSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "controller/snapfleet-controller"
        ),

        // Test support: real PostgreSQL clusters, loop-device disks, child processes.
        .target(name: "TestSupport", dependencies: ["SnapfleetCore"], path: "Tests/TestSupport"),

        .testTarget(name: "SnapfleetCoreTests", dependencies: ["SnapfleetCore"]),
        .testTarget(name: "SnapfleetProtocolTests", dependencies: ["SnapfleetProtocol", "SnapfleetCore"]),
        .testTarget(name: "SnapfleetConfigTests", dependencies: ["SnapfleetConfig", "SnapfleetCore"]),
        .testTarget(
            name: "MessagingTests",
            dependencies: ["Messaging", "SnapfleetProtocol", "SnapfleetCore", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "PostgresBackupTests", dependencies: ["PostgresBackup", "TestSupport"]),
        .testTarget(name: "HostInspectionTests", dependencies: ["HostInspection", "TestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "SnapfleetCore", "TestSupport"]),
        .testTarget(name: "SchedulingTests", dependencies: ["Scheduling"]),
        .testTarget(
            name: "ProgramSupportTests",
            dependencies: ["ProgramSupport", "SnapfleetCore", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "DigestsTests", dependencies: ["Digests"]),
        .testTarget(name: "CompressionCodecsTests", dependencies: ["CompressionCodecs", "SnapfleetCore", "TestSupport"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "TestSupport"]),
        .testTarget(name: "AWSSigningTests", dependencies: ["AWSSigning", "SnapfleetCore", "TestSupport"]),
        .testTarget(name: "TokenSigningTests", dependencies: ["TokenSigning", "Digests", "SnapfleetCore", "TestSupport"]),
        .testTarget(name: "CloudXMLTests", dependencies: ["CloudXML", "SnapfleetCore"]),
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore", "AWSSigning", "CloudCredentials", "SnapfleetCore", "TestSupport"]),
        .testTarget(name: "CloudCredentialsTests", dependencies: ["CloudCredentials", "AWSSigning", "SnapfleetCore", "TestSupport"]),
        .testTarget(name: "CloudSnapshotsTests", dependencies: ["CloudSnapshots", "AWSSigning", "CloudXML", "SnapfleetCore", "TestSupport"]),
        .testTarget(
            name: "AgentCoreTests",
            dependencies: [
                "AgentCore", "Messaging", "SnapfleetProtocol", "SnapfleetConfig", "SnapfleetCore", "CompressionCodecs", "Digests",
                "PostgresBackup", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ControllerCoreTests",
            dependencies: [
                "ControllerCore", "Messaging", "SnapfleetProtocol", "SnapfleetConfig", "SnapfleetCore", "TestSupport", "Catalog", "ObjectStore",
                "AWSSigning", "CompressionCodecs", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["SnapfleetCore", "SnapfleetProtocol", "Messaging", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
