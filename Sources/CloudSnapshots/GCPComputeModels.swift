#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A Compute Engine instance (only what snapfleet reads).
public struct GCEInstance: Decodable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its numeric id, a decimal string.
    public var id: String?
    /// Its zone's URL (`…/zones/europe-west1-b`).
    public var zone: String?
    /// The disks attached to it, in the instance's order.
    public var disks: [GCEAttachedDisk]?
    /// Its self link.
    public var selfLink: String?
}

/// A disk as an instance lists it.
public struct GCEAttachedDisk: Decodable, Sendable, Equatable {
    /// The name the guest sees it by (`/dev/disk/by-id/google-<deviceName>`).
    public var deviceName: String?
    /// The disk's URL (`…/zones/Z/disks/NAME`).
    public var source: String?
    /// Whether it is the boot disk.
    public var boot: Bool?
    /// `SCSI` or `NVME`.
    public var interface: String?
    /// Its position.
    public var index: Int?

    /// The disk's name: the last segment of `source`.
    public var diskName: String? { source.flatMap { GCPNames.lastSegment($0) } }
}

/// A persistent disk.
public struct GCEDisk: Decodable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its numeric id.
    public var id: String?
    /// Its size in GB, a decimal string.
    public var sizeGb: String?
    /// Its zone's URL.
    public var zone: String?
    /// Its URL.
    public var selfLink: String?
    /// The snapshot it was created from (URL), if any.
    public var sourceSnapshot: String?
    /// The instances using it (URLs).
    public var users: [String]?
    /// `CREATING`, `READY`, …
    public var status: String?
}

/// A disk snapshot.
public struct GCESnapshot: Decodable, Sendable, Equatable {
    /// Its name (its identity in barman's records).
    public var name: String
    /// Its numeric id.
    public var id: String?
    /// `CREATING`, `UPLOADING`, `READY`, `FAILED` or `DELETING`.
    public var status: String
    /// The disk it was taken of (URL).
    public var sourceDisk: String?
    /// Its labels.
    public var labels: [String: String]?
    /// Its URL.
    public var selfLink: String?
}

/// A zonal or global operation.
public struct GCEOperation: Decodable, Sendable, Equatable {
    /// Its name (to poll it).
    public var name: String
    /// `PENDING`, `RUNNING` or `DONE`.
    public var status: String
    /// Its zone's URL, for a zonal operation.
    public var zone: String?
    /// What it acts on (URL).
    public var targetLink: String?
    /// Progress in percent.
    public var progress: Int?
    /// Why it failed, once `DONE`.
    public var error: Failure?

    /// `error.errors`.
    public struct Failure: Decodable, Sendable, Equatable {
        /// Each error's code and message.
        public var errors: [Item]?
    }

    /// One error of a failed operation.
    public struct Item: Decodable, Sendable, Equatable {
        /// `RESOURCE_NOT_FOUND`, `QUOTA_EXCEEDED`, …
        public var code: String?
        /// What happened.
        public var message: String?
    }

    /// `code: message` of every error, nil when none.
    public var failureText: String? {
        guard let items = error?.errors, !items.isEmpty else { return nil }
        return items.map { "\($0.code ?? "ERROR"): \($0.message ?? "")" }.joined(separator: "; ")
    }
}

/// A page of a list method.
struct GCEListPage<Item: Decodable>: Decodable {
    var items: [Item]?
    var nextPageToken: String?
}

/// Naming rules of Compute Engine.
public enum GCPNames {
    /// The last `/` segment of a resource URL (`…/disks/pgdata` → `pgdata`); nil when empty.
    public static func lastSegment(_ url: String) -> String? {
        let last = url.split(separator: "/").last.map(String.init)
        return last?.isEmpty == false ? last : nil
    }

    /// RFC 1035 names as Compute Engine requires them: 1–63 characters, lowercase letters, digits and
    /// `-`, starting with a letter and not ending with `-`.
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: /[a-z]([-a-z0-9]{0,61}[a-z0-9])?/) != nil
    }

    /// Label keys: 1–63 lowercase letters, digits, `_` and `-`, starting with a letter; values the
    /// same but may be empty and start with anything allowed.
    public static func isValidLabel(key: String, value: String) -> Bool {
        key.wholeMatch(of: /[a-z][a-z0-9_-]{0,62}/) != nil && value.wholeMatch(of: /[a-z0-9_-]{0,63}/) != nil
    }
}
