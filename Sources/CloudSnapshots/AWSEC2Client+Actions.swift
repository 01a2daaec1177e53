import CloudXML
import SnapfleetCore

/// A `Filter.N` of the EC2 Query API: a name and the values any of which may match.
public struct EC2Filter: Sendable, Equatable {
    /// The filter name (`tag:Name`, `instance-state-name`, `attachment.instance-id`).
    public var name: String
    /// The accepted values.
    public var values: [String]

    /// Creates a filter.
    public init(_ name: String, _ values: [String]) {
        self.name = name
        self.values = values
    }

    /// Every state but `terminated`, as barman-cloud filters instance lookups.
    public static let notTerminated = EC2Filter("instance-state-name", ["pending", "running", "shutting-down", "stopping", "stopped"])
}

extension EC2Client {
    /// `DescribeInstances` by ids and filters, following `nextToken`.
    public func describeInstances(ids: [String] = [], filters: [EC2Filter] = []) throws(SnapfleetError) -> [EC2Reservation] {
        let parameters = Self.list("InstanceId", ids) + Self.filters(filters)
        return try paginated("DescribeInstances", parameters) { $0.child("reservationSet")?.children("item").map(EC2Reservation.init) ?? [] }
    }

    /// `DescribeVolumes` by ids and filters, following `nextToken`.
    public func describeVolumes(ids: [String] = [], filters: [EC2Filter] = []) throws(SnapfleetError) -> [EC2Volume] {
        let parameters = Self.list("VolumeId", ids) + Self.filters(filters)
        return try paginated("DescribeVolumes", parameters) { $0.child("volumeSet")?.children("item").map(EC2Volume.init) ?? [] }
    }

    /// `CreateSnapshot` of `volumeID`, tagged `Name=name` first and then `tags` (sorted by key, so the
    /// order is stable). `CreateSnapshot` has no client token: after a failure that may have acted, the
    /// snapshot is looked for by volume, `Name` and tags, and created again only if there is none.
    public func createSnapshot(volumeID: String, name: String, tags: [String: String]) throws(SnapfleetError) -> EC2Snapshot {
        let ordered = [("Name", name)] + tags.filter { $0.key != "Name" }.sorted { $0.key < $1.key }
        let parameters = [("VolumeId", volumeID)] + Self.tagSpecification("snapshot", ordered)
        let filters = [EC2Filter("volume-id", [volumeID])] + ordered.map { EC2Filter("tag:\($0.0)", [$0.1]) }
        return try callCreating("CreateSnapshot", parameters, parse: { EC2Snapshot(xml: $0) }) { () throws(SnapfleetError) in
            try describeSnapshots(owners: ["self"], filters: filters).first
        }
    }

    /// `TagSpecification.1.ResourceType` and its tags, in order.
    static func tagSpecification(_ resourceType: String, _ tags: [(String, String)]) -> [(String, String)] {
        var parameters = [("TagSpecification.1.ResourceType", resourceType)]
        for (index, tag) in tags.enumerated() {
            parameters += [("TagSpecification.1.Tag.\(index + 1).Key", tag.0), ("TagSpecification.1.Tag.\(index + 1).Value", tag.1)]
        }
        return parameters
    }

    /// `DescribeSnapshots` by ids and filters (ids are exact; filter by tag to find snapshots of one backup).
    public func describeSnapshots(ids: [String] = [], owners: [String] = [], filters: [EC2Filter] = []) throws(SnapfleetError) -> [EC2Snapshot] {
        let parameters = Self.list("SnapshotId", ids) + Self.list("Owner", owners) + Self.filters(filters)
        return try paginated("DescribeSnapshots", parameters) { $0.child("snapshotSet")?.children("item").map(EC2Snapshot.init) ?? [] }
    }

    /// `CreateVolume` from a snapshot in `zone` (gp3), named `name`; returns the new volume's id.
    ///
    /// `clientToken` makes a repeated call return the same volume on AWS (its idempotency token);
    /// the volume is also tagged with it, so that after a failure that may have acted the volume is
    /// found by tag wherever the token is not honoured.
    public func createVolume(fromSnapshot snapshotID: String, zone: String, name: String, clientToken: String) throws(SnapfleetError) -> String {
        let tags = [("Name", name), (Self.clientTokenTag, clientToken)]
        let parameters =
            [("SnapshotId", snapshotID), ("AvailabilityZone", zone), ("VolumeType", "gp3"), ("ClientToken", clientToken)]
            + Self.tagSpecification("volume", tags)
        let parse = { (xml: XMLTree) throws(SnapfleetError) -> String in
            guard let id = xml.value("volumeId"), !id.isEmpty else { throw SnapfleetError(.invalidBody, "CreateVolume returned no volumeId") }
            return id
        }
        return try callCreating("CreateVolume", parameters, parse: parse) { () throws(SnapfleetError) in
            try describeVolumes(filters: [EC2Filter("tag:\(Self.clientTokenTag)", [clientToken])]).first?.id
        }
    }

    /// The tag a provisioned volume carries its client token in.
    public static let clientTokenTag = "snapfleet_client_token"

    /// `AttachVolume` as `device`; after a failure that may have acted, the volume is described and
    /// an attachment to the instance (attaching or attached) counts as done.
    public func attachVolume(_ volumeID: String, instanceID: String, device: String) throws(SnapfleetError) {
        let parameters = [("VolumeId", volumeID), ("InstanceId", instanceID), ("Device", device)]
        try callCreating("AttachVolume", parameters, parse: { _ in () }) { () throws(SnapfleetError) -> Void? in
            let attachments = try describeVolumes(ids: [volumeID]).first?.attachments ?? []
            return attachments.contains { $0.instanceID == instanceID && $0.state != "detaching" && $0.state != "detached" } ? () : nil
        }
    }

    /// `DeleteSnapshot`; the raw API error (including `InvalidSnapshot.NotFound`) is thrown as is.
    public func deleteSnapshot(id: String) throws(SnapfleetError) {
        _ = try call("DeleteSnapshot", [("SnapshotId", id)])
    }

    /// `LockSnapshot` with only the options given, as barman-cloud sends it.
    public func lockSnapshot(
        id: String, mode: EC2SnapshotLockMode, durationDays: Int? = nil, coolOffHours: Int? = nil, expirationDate: String? = nil
    ) throws(SnapfleetError) -> EC2SnapshotLock {
        EC2SnapshotLock(xml: try call("LockSnapshot", Self.lockParameters(id: id, mode: mode, durationDays, coolOffHours, expirationDate)))
    }

    /// The `LockSnapshot` parameters, leaving out what was not given.
    static func lockParameters(
        id: String, mode: EC2SnapshotLockMode, _ durationDays: Int?, _ coolOffHours: Int?, _ expirationDate: String?
    ) -> [(String, String)] {
        var parameters = [("SnapshotId", id), ("LockMode", mode.rawValue)]
        if let durationDays { parameters.append(("LockDuration", String(durationDays))) }
        if let coolOffHours { parameters.append(("CoolOffPeriod", String(coolOffHours))) }
        if let expirationDate { parameters.append(("ExpirationDate", expirationDate)) }
        return parameters
    }

    /// `DescribeLockedSnapshots` for the given snapshots: the lock of each one that has one.
    public func describeLockedSnapshots(ids: [String]) throws(SnapfleetError) -> [EC2SnapshotLock] {
        try paginated("DescribeLockedSnapshots", Self.list("SnapshotId", ids)) { page in
            page.child("snapshotSet")?.children("item").map(EC2SnapshotLock.init) ?? []
        }
    }

    /// Calls `action` until the answer has no `nextToken`, collecting each page's items.
    func paginated<Item>(_ action: String, _ parameters: [(String, String)], items: (XMLTree) -> [Item]) throws(SnapfleetError) -> [Item] {
        var collected: [Item] = []
        var token: String?
        repeat {
            let page = try call(action, parameters + (token.map { [("NextToken", $0)] } ?? []))
            collected += items(page)
            token = page.value("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return collected
    }

    /// `Name.1=a&Name.2=b`.
    static func list(_ name: String, _ values: [String]) -> [(String, String)] {
        values.enumerated().map { ("\(name).\($0.offset + 1)", $0.element) }
    }

    /// `Filter.N.Name` and `Filter.N.Value.M`.
    static func filters(_ filters: [EC2Filter]) -> [(String, String)] {
        filters.enumerated().flatMap { index, filter in
            [("Filter.\(index + 1).Name", filter.name)] + list("Filter.\(index + 1).Value", filter.values)
        }
    }
}
