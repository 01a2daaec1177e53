import CloudSnapshots
import SnapfleetCore
import SnapfleetProtocol

/// Gathers the pre-flight findings of a server: provider lookups, then the agent's disk map.
struct PreflightRunner: Sendable {
    /// Sends a request to the server's agent.
    let askAgent: @Sendable (Message) async throws(SnapfleetError) -> Message
    /// The agent's last hello.
    let hello: @Sendable () -> Hello?

    /// Runs every check of `server` with settings `config`.
    func run(server: String, config: ServerConfig) async -> CheckReport {
        CheckReport(server: server, checks: Preflight.evaluate(await gather(config: config)))
    }

    /// Everything the checks judge (a backup uses the same findings for its plan).
    func gather(config: ServerConfig) async -> PreflightFindings {
        var findings = PreflightFindings(config: config, hello: hello())
        guard let instanceName = config.snapshotInstance, !config.snapshotDisks.isEmpty else { return findings }
        let lookups = await BlockingPool.shared.run { Self.lookUp(config: config, instance: instanceName) }
        findings.instance = lookups.instance
        findings.disks = lookups.disks
        if case .success(let disks)? = lookups.disks {
            findings.diskMap = await diskMap(disks, naming: Self.deviceNaming(provider: config.provider))
        }
        return findings
    }

    /// Provider calls block on the network: this runs on a thread of its own.
    private static func lookUp(config: ServerConfig, instance name: String)
        -> (instance: Result<InstanceInfo, SnapfleetError>, disks: Result<[DiskInfo], SnapfleetError>?)
    {
        let provider: any SnapshotProvider
        do { provider = try ProviderFactory.provider(for: config) } catch { return (.failure(error), nil) }
        let instance = Result { () throws(SnapfleetError) in try provider.instance(name) }
        guard case .success(let found) = instance else { return (instance, nil) }
        return (instance, Result { () throws(SnapfleetError) in try provider.disks(config.snapshotDisks, attachedTo: found) })
    }

    private func diskMap(_ disks: [DiskInfo], naming: DeviceNaming?) async -> Result<DiskMapResult, SnapfleetError> {
        let request = DiskMapRequest(disks: disks.map { DiskReference(id: $0.id, deviceName: $0.deviceName, deviceNaming: naming) })
        do {
            let reply = try await askAgent(.diskMap(request))
            guard case .diskMapResult(let result) = reply else {
                return .failure(SnapfleetError(.unexpectedMessage, "agent answered disk_map with \(reply.type.rawValue)"))
            }
            return .success(result)
        } catch {
            return .failure(error)
        }
    }

    /// How the provider's device names name devices on the host (nil: `/dev/NAME`, the wire's default).
    static func deviceNaming(provider: SnapshotProviderKind?) -> DeviceNaming? {
        switch provider {
        case .gcp?: .gcp
        case .azure?: .azure
        case .aws?, .local?, nil: nil
        }
    }
}
