/// The `snapshots_info` field of a snapshot backup: which provider, and the snapshots with their mounts (spec §3.3).
///
/// Every provider's value is `{'provider': …, 'provider_info': {…}, 'snapshots': [{'mount': {…}, 'provider': {…}}, …]}`.
/// Reading is tolerant like barman's (a missing field is nil, so older AWS backups without
/// `snapshot_lock_mode` load) but refuses unknown keys and wrong types; writing always emits every field.
public enum SnapshotsInfo: Sendable, Hashable {
    /// EBS snapshots.
    case aws(AWSSnapshotsInfo)
    /// Compute Engine snapshots.
    case gcp(GCPSnapshotsInfo)
    /// Azure managed-disk snapshots.
    case azure(AzureSnapshotsInfo)
    /// snapfleet's own loop-device image snapshots (not readable by barman, which knows three providers).
    case local(LocalSnapshotsInfo)

    /// The `provider` value.
    public var provider: SnapshotProvider {
        switch self {
        case .aws: .aws
        case .gcp: .gcp
        case .azure: .azure
        case .local: .local
        }
    }

    /// Each snapshot's mount record, in stored order.
    public var mounts: [SnapshotMount] {
        switch self {
        case .aws(let info): info.snapshots.map(\.mount)
        case .gcp(let info): info.snapshots.map(\.mount)
        case .azure(let info): info.snapshots.map(\.mount)
        case .local(let info): info.snapshots.map(\.mount)
        }
    }

    /// Each snapshot's identifier for API calls and matching (AWS `snapshot_id`, else `snapshot_name`; local: the image path).
    public var snapshotIdentifiers: [String?] {
        switch self {
        case .aws(let info): info.snapshots.map(\.snapshotID)
        case .gcp(let info): info.snapshots.map(\.snapshotName)
        case .azure(let info): info.snapshots.map(\.snapshotName)
        case .local(let info): info.snapshots.map(\.snapshotImagePath)
        }
    }

    /// The value as written into `backup.info`.
    public var literal: PythonLiteral {
        let (info, snapshots): (PythonLiteral, [PythonLiteral])
        switch self {
        case .aws(let value): (info, snapshots) = (value.providerInfoLiteral, value.snapshots.map(\.literal))
        case .gcp(let value): (info, snapshots) = (value.providerInfoLiteral, value.snapshots.map(\.literal))
        case .azure(let value): (info, snapshots) = (value.providerInfoLiteral, value.snapshots.map(\.literal))
        case .local(let value): (info, snapshots) = (value.providerInfoLiteral, value.snapshots.map(\.literal))
        }
        return .dict(["provider": .string(provider.rawValue), "provider_info": info, "snapshots": .list(snapshots)])
    }

    /// Reads the value of a `snapshots_info` field.
    public init(literal: PythonLiteral) throws {
        let context = "snapshots_info"
        let top = try LiteralObject(literal, context: context, keys: ["provider", "provider_info", "snapshots"])
        guard let name = try top.string("provider") else { throw CatalogErrors.invalid("\(context): missing 'provider'") }
        guard let provider = SnapshotProvider(rawValue: name) else {
            // barman's exact text (CloudProviderUnsupported, spec §3.3).
            throw CatalogErrors.invalid("Unsupported snapshot provider in backup info: \(CatalogErrors.preview(name))")
        }
        let info = top.value("provider_info") ?? .dict([])
        let snapshots = try top.list("snapshots")
        switch provider {
        case .aws: self = .aws(try AWSSnapshotsInfo(providerInfo: info, snapshots: snapshots))
        case .gcp: self = .gcp(try GCPSnapshotsInfo(providerInfo: info, snapshots: snapshots))
        case .azure: self = .azure(try AzureSnapshotsInfo(providerInfo: info, snapshots: snapshots))
        case .local: self = .local(try LocalSnapshotsInfo(providerInfo: info, snapshots: snapshots))
        }
    }

    /// `snapshots_info.snapshots[i]`, the context of errors about one snapshot.
    static func snapshotContext(_ index: Int) -> String { "snapshots_info.snapshots[\(index)]" }
}

/// The `provider` value of `snapshots_info`.
public enum SnapshotProvider: String, Sendable, Hashable, CaseIterable {
    /// Amazon EC2/EBS.
    case aws
    /// Google Compute Engine.
    case gcp
    /// Microsoft Azure.
    case azure
    /// snapfleet's loop-device images on one host.
    case local
}
