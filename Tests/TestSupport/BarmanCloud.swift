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

    /// `barman-cloud-backup-show --format json` of a backup whose `backup.info` and `backup_label`
    /// are given (made for another cloud): they are put in a bucket of a plain moto, where barman
    /// reads them as from any catalog; the backup as barman shows it.
    public static func show(backupInfo: String, label: String, id: String, server: String = "pg1") throws -> [String: Any] {
        let moto = try MotoServer(enforcingSignatures: false)
        let bucket = "show-\(UUID().uuidString.prefix(8).lowercased())"
        let directory = try TemporaryDirectory(prefix: "barman-show")
        try backupInfo.write(toFile: directory.file("backup.info"), atomically: true, encoding: .utf8)
        try label.write(toFile: directory.file("backup_label"), atomically: true, encoding: .utf8)
        _ = try moto.boto3(
            """
            s3.create_bucket(Bucket="\(bucket)")
            for name in ("backup.info", "backup_label"):
                s3.upload_file("\(directory.path)/" + name, "\(bucket)", "catalog/\(server)/base/\(id)/" + name)
            """)
        let output = try run("backup-show", ["--format", "json", "s3://\(bucket)/catalog", server, id], moto: moto)
        guard output.status == 0, let document = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
            let shown = document[server] as? [String: Any]
        else {
            throw CommandFailed(command: ["barman-cloud-backup-show", id], output: output)
        }
        return shown
    }
}
