import Foundation

/// The real barman-cloud tools (PyPI `barman[cloud]`, Python ≥ 3.12), to prove that what
/// snapfleet writes is what Barman reads.
public enum BarmanCloud {
    /// The directory holding `barman-cloud-backup-list` and friends, if installed.
    public static let binDirectory: String? = {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/root/.pyenv/versions")) ?? []
        return versions.filter { $0.hasPrefix("3.1") && !$0.hasPrefix("3.10") && !$0.hasPrefix("3.11") }.sorted().map {
            "/root/.pyenv/versions/\($0)/bin"
        }.first { FileManager.default.isExecutableFile(atPath: "\($0)/barman-cloud-backup-list") }
    }()

    /// Whether the tools are installed (scripts/setup installs them where Python 3.12+ exists).
    public static var isAvailable: Bool { binDirectory != nil }

    /// Runs `barman-cloud-<tool>` with AWS settings pointing at `moto`.
    public static func run(_ tool: String, _ arguments: [String], moto: MotoServer) throws -> ProcessOutput {
        try run(tool, arguments, endpoint: moto.endpoint, accessKeyID: moto.accessKeyID, secret: moto.secretAccessKey, region: moto.region)
    }

    /// Runs a tool against a `VerifyingS3` (its signatures are checked like snapfleet's).
    public static func run(_ tool: String, _ arguments: [String], s3: VerifyingS3) throws -> ProcessOutput {
        try run(tool, arguments, endpoint: s3.endpoint, accessKeyID: VerifyingS3.accessKeyID, secret: VerifyingS3.secretAccessKey, region: s3.region)
    }

    /// `barman-cloud-backup --snapshot-instance INSTANCE --snapshot-disk DISK` of `cluster` into
    /// `destination` (an immediate checkpoint, moto's EC2 and S3).
    public static func snapshotBackup(
        of cluster: PostgresCluster, instance: String, disk: String, destination: String, server: String, moto: MotoServer
    ) throws -> ProcessOutput {
        try run(
            "backup",
            [
                "--cloud-provider", "aws-s3", "--endpoint-url", moto.endpoint, "--immediate-checkpoint", "-h", cluster.socketDirectory,
                "-p", String(cluster.port), "-U", "postgres", "-d", "postgres", "--snapshot-instance", instance, "--snapshot-disk", disk,
                destination, server,
            ], moto: moto)
    }

    private static func run(
        _ tool: String, _ arguments: [String], endpoint: String, accessKeyID: String, secret: String, region: String
    ) throws -> ProcessOutput {
        try ChildProcess.run(
            [
                "env", "AWS_ACCESS_KEY_ID=\(accessKeyID)", "AWS_SECRET_ACCESS_KEY=\(secret)", "AWS_DEFAULT_REGION=\(region)",
                "AWS_ENDPOINT_URL=\(endpoint)", "\(binDirectory ?? "")/barman-cloud-\(tool)",
            ] + arguments)
    }
}
