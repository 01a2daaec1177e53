#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A virtual machine (only what snapfleet reads).
public struct AzureVM: Decodable, Sendable, Equatable {
    /// Its name, in the casing it was created with.
    public var name: String
    /// Its ARM id.
    public var id: String
    /// Its location (`westeurope`).
    public var location: String
    /// Its properties.
    public var properties: Properties?

    /// `properties`.
    public struct Properties: Decodable, Sendable, Equatable {
        /// The disks.
        public var storageProfile: StorageProfile?
        /// `Succeeded`, `Updating`, …
        public var provisioningState: String?
    }

    /// `properties.storageProfile`.
    public struct StorageProfile: Decodable, Sendable, Equatable {
        /// The data disks (the OS disk is never snapshotted).
        public var dataDisks: [AzureDataDisk]?
    }

    /// The data disks, in LUN order.
    public var dataDisks: [AzureDataDisk] { (properties?.storageProfile?.dataDisks ?? []).sorted { $0.lun < $1.lun } }
}

/// A data disk as a VM lists it (and as a VM update sends it).
public struct AzureDataDisk: Codable, Sendable, Equatable {
    /// Its logical unit number: the guest sees it as `/dev/disk/azure/scsi1/lun<N>`.
    public var lun: Int
    /// The disk's name.
    public var name: String?
    /// `Attach` for an existing managed disk.
    public var createOption: String?
    /// `None`, `ReadOnly` or `ReadWrite`.
    public var caching: String?
    /// The managed disk.
    public var managedDisk: Reference?

    /// `managedDisk`: the disk's ARM id.
    public struct Reference: Codable, Sendable, Equatable {
        /// The ARM id, in whatever casing it was attached with (compare case-insensitively).
        public var id: String?

        /// Names a managed disk.
        public init(id: String?) { self.id = id }
    }

    /// Describes a data disk.
    public init(lun: Int, name: String? = nil, createOption: String? = nil, caching: String? = nil, managedDisk: Reference? = nil) {
        self.lun = lun
        self.name = name
        self.createOption = createOption
        self.caching = caching
        self.managedDisk = managedDisk
    }

    /// `lun<N>`: the device name snapfleet records for it.
    public var deviceName: String { "lun\(lun)" }
}

/// How a disk or snapshot was made (`createOption`, and what it was copied from).
public struct AzureCreationData: Codable, Sendable, Equatable {
    /// `Copy`, `Empty`, `FromImage`, …
    public var createOption: String?
    /// The ARM id of the disk or snapshot it was copied from.
    public var sourceResourceId: String?

    /// Describes a creation.
    public init(createOption: String?, sourceResourceId: String?) {
        self.createOption = createOption
        self.sourceResourceId = sourceResourceId
    }
}

/// A managed disk.
public struct AzureManagedDisk: Decodable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its ARM id.
    public var id: String
    /// Its location.
    public var location: String
    /// The VM using it (ARM id), when attached.
    public var managedBy: String?
    /// Its properties.
    public var properties: Properties?

    /// `properties`.
    public struct Properties: Decodable, Sendable, Equatable {
        /// Its size in GiB.
        public var diskSizeGB: Int?
        /// Where it came from.
        public var creationData: AzureCreationData?
        /// `Succeeded`, `Updating`, `Failed`, …
        public var provisioningState: String?
    }
}

/// A managed-disk snapshot.
public struct AzureDiskSnapshot: Decodable, Sendable, Equatable {
    /// Its name (its identity in barman's records).
    public var name: String
    /// Its ARM id.
    public var id: String
    /// Its location.
    public var location: String
    /// Its tags.
    public var tags: [String: String]?
    /// Its properties.
    public var properties: Properties?

    /// `properties`.
    public struct Properties: Decodable, Sendable, Equatable {
        /// The disk it was taken of.
        public var creationData: AzureCreationData?
        /// `Updating` while the create operation runs, then `Succeeded` or `Failed`.
        public var provisioningState: String?
        /// The background copy's progress (0–100).
        public var completionPercent: Double?
        /// `Pending` while the background copy runs, then `Available` (DiskRP 2025-01-02 and later).
        public var snapshotAccessState: String?
        /// Whether it is incremental.
        public var incremental: Bool?
        /// Its size in GiB.
        public var diskSizeGB: Int?
    }

    /// The ARM id of the disk it was taken of.
    public var sourceDiskID: String? { properties?.creationData?.sourceResourceId }
}

/// An asynchronous operation's status (the `Azure-AsyncOperation` URL's answer).
public struct AzureAsyncOperation: Decodable, Sendable, Equatable {
    /// `InProgress`, `Succeeded`, `Failed` or `Canceled`.
    public var status: String
    /// Why it failed.
    public var error: AzureErrorBody?

    /// Describes an operation's status.
    public init(status: String, error: AzureErrorBody? = nil) {
        self.status = status
        self.error = error
    }

    /// Whether it has ended, one way or the other.
    public var isDone: Bool { ["succeeded", "failed", "canceled"].contains(status.lowercased()) }
    /// Whether it ended well.
    public var succeeded: Bool { status.lowercased() == "succeeded" }
    /// `status: code: message`.
    public var failureText: String { "\(status)" + (error.map { ": \($0.code ?? "error"): \($0.message ?? "")" } ?? "") }
}

/// ARM's error object (`{"error": {"code", "message"}}`, and a failed operation's `error`).
public struct AzureErrorBody: Decodable, Sendable, Equatable {
    /// `ResourceNotFound`, `OperationNotAllowed`, …
    public var code: String?
    /// What happened.
    public var message: String?

    /// Describes an error.
    public init(code: String?, message: String?) {
        self.code = code
        self.message = message
    }
}

/// Where a long-running operation can be followed: the answer's `Azure-AsyncOperation` or
/// `Location` URL, and its `Retry-After`.
public struct AzureLongRunningOperation: Sendable, Equatable {
    /// The status URL (preferred).
    public var asyncOperationURL: String?
    /// The monitor URL: 202 while running, then the result.
    public var locationURL: String?
    /// The seconds the service asks to wait before the first poll.
    public var retryAfter: Double?
}

/// A page of a list call.
struct AzureListPage<Item: Decodable>: Decodable {
    var value: [Item]?
    var nextLink: String?
}

/// ARM ids.
public enum AzureResourceID {
    /// The last `/` segment (`…/disks/pgdata` → `pgdata`); nil when empty.
    public static func lastSegment(_ id: String) -> String? {
        let last = id.split(separator: "/").last.map(String.init)
        return last?.isEmpty == false ? last : nil
    }

    /// Whether two ids name the same resource: ARM ids are case-insensitive.
    public static func same(_ first: String?, _ second: String?) -> Bool {
        guard let first, let second else { return false }
        return first.lowercased() == second.lowercased()
    }

    /// Whether `id` names a snapshot (`…/providers/Microsoft.Compute/snapshots/NAME`).
    public static func isSnapshot(_ id: String) -> Bool {
        id.lowercased().contains("/providers/microsoft.compute/snapshots/")
    }

    /// Disk and snapshot names: 1–80 letters, digits, `_`, `-` and `.`, starting with a letter or
    /// digit and not ending with `-` or `.` (DiskRP's `^[^_\W][\w-._]{0,79}(?<![-.])$`).
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: /[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?/) != nil
    }
}
