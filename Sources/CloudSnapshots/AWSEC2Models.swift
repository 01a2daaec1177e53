import CloudXML

/// An EC2 instance as `DescribeInstances` reports it, with the reservation's owner.
public struct EC2Instance: Sendable, Equatable {
    /// `i-…`.
    public var id: String
    /// The `Name` tag, if any.
    public var name: String?
    /// `pending`, `running`, `stopped`…
    public var state: String
    /// The availability zone it runs in.
    public var availabilityZone: String?
    /// The AWS account that owns the reservation.
    public var ownerID: String?
    /// The root device (`/dev/xvda`); volumes attached there are never snapshot disks.
    public var rootDeviceName: String?
    /// `hvm` or `paravirtual`.
    public var virtualizationType: String?
    /// Every tag.
    public var tags: [String: String]

    /// Reads an `instancesSet` item; `ownerID` comes from the enclosing reservation.
    public init(xml: XMLTree, ownerID: String?) {
        id = xml.value("instanceId") ?? ""
        tags = EC2Tags.parse(xml)
        name = tags["Name"]
        state = xml.child("instanceState")?.value("name") ?? ""
        availabilityZone = xml.child("placement")?.value("availabilityZone")
        self.ownerID = ownerID
        rootDeviceName = xml.value("rootDeviceName")
        virtualizationType = xml.value("virtualizationType")
    }
}

/// One reservation of a `DescribeInstances` answer: the instances launched together.
public struct EC2Reservation: Sendable, Equatable {
    /// `r-…`.
    public var id: String
    /// The owning account.
    public var ownerID: String?
    /// Its instances.
    public var instances: [EC2Instance]

    /// Reads a `reservationSet` item.
    public init(xml: XMLTree) {
        id = xml.value("reservationId") ?? ""
        ownerID = xml.value("ownerId")
        instances = (xml.child("instancesSet")?.children("item") ?? []).map { [ownerID] in EC2Instance(xml: $0, ownerID: ownerID) }
    }
}

/// An EBS volume as `DescribeVolumes` reports it.
public struct EC2Volume: Sendable, Equatable {
    /// One attachment of the volume to an instance.
    public struct Attachment: Sendable, Equatable {
        /// The instance.
        public var instanceID: String
        /// The device name given at attach time (`/dev/sdf`).
        public var device: String
        /// `attaching`, `attached`…
        public var state: String
    }

    /// `vol-…`.
    public var id: String
    /// The `Name` tag, if any.
    public var name: String?
    /// Size in GiB.
    public var sizeGiB: Int?
    /// The snapshot it was created from, if any.
    public var sourceSnapshotID: String?
    /// `creating`, `available`, `in-use`, `error`…
    public var state: String
    /// Where it is attached.
    public var attachments: [Attachment]

    /// Reads a `volumeSet` item.
    public init(xml: XMLTree) {
        id = xml.value("volumeId") ?? ""
        name = EC2Tags.parse(xml)["Name"]
        sizeGiB = xml.value("size").flatMap { Int($0) }
        sourceSnapshotID = xml.value("snapshotId").flatMap { $0.isEmpty ? nil : $0 }
        state = xml.value("status") ?? ""
        attachments = (xml.child("attachmentSet")?.children("item") ?? []).map {
            Attachment(instanceID: $0.value("instanceId") ?? "", device: $0.value("device") ?? "", state: $0.value("status") ?? "")
        }
    }
}

/// An EBS snapshot as `CreateSnapshot` and `DescribeSnapshots` report it.
public struct EC2Snapshot: Sendable, Equatable {
    /// `snap-…`.
    public var id: String
    /// The volume it copies.
    public var volumeID: String
    /// `pending`, `completed`, `error`, `recoverable` (in the Recycle Bin) or `recovering` (coming back from it).
    public var state: String
    /// Why it failed, when AWS says.
    public var stateMessage: String?
    /// Copy progress in percent (`"80%"` on the wire).
    public var progressPercent: Int?
    /// The owning account.
    public var ownerID: String?
    /// Every tag.
    public var tags: [String: String]

    /// Reads a `CreateSnapshotResponse` or a `snapshotSet` item (same fields).
    public init(xml: XMLTree) {
        id = xml.value("snapshotId") ?? ""
        volumeID = xml.value("volumeId") ?? ""
        state = xml.value("status") ?? ""
        stateMessage = xml.value("statusMessage").flatMap { $0.isEmpty ? nil : $0 }
        progressPercent = xml.value("progress").flatMap { Int($0.replacing("%", with: "")) }
        ownerID = xml.value("ownerId")
        tags = EC2Tags.parse(xml)
    }
}

/// How a snapshot lock may be lifted (EC2 `LockMode`).
public enum EC2SnapshotLockMode: String, Sendable, Equatable, CaseIterable {
    /// Users with `ec2:UnlockSnapshot` may unlock it or shorten it.
    case governance
    /// No one can delete it until it expires (after the cool-off period, if any).
    case compliance
}

/// What `LockSnapshot` answered.
public struct EC2SnapshotLock: Sendable, Equatable {
    /// The snapshot.
    public var snapshotID: String
    /// `compliance-cooloff`, `governance`, `compliance`, `expired`.
    public var lockState: String
    /// The lock's duration in days, if one was set.
    public var durationDays: Int?
    /// The cool-off period in hours, if any.
    public var coolOffHours: Int?
    /// When the lock expires (ISO 8601, as sent).
    public var expiresOn: String?

    /// Reads a `LockSnapshotResponse`.
    public init(xml: XMLTree) {
        snapshotID = xml.value("snapshotId") ?? ""
        lockState = xml.value("lockState") ?? ""
        durationDays = xml.value("lockDuration").flatMap { Int($0) }
        coolOffHours = xml.value("coolOffPeriod").flatMap { Int($0) }
        expiresOn = xml.value("lockExpiresOn")
    }
}

/// `tagSet` parsing shared by every resource.
enum EC2Tags {
    /// The `tagSet` items of `xml` as a dictionary.
    static func parse(_ xml: XMLTree) -> [String: String] {
        var tags: [String: String] = [:]
        for item in xml.child("tagSet")?.children("item") ?? [] {
            if let key = item.value("key") { tags[key] = item.value("value") ?? "" }
        }
        return tags
    }
}
