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

    /// `CreateSnapshot` of `volumeID`, tagged `Name=name` first and then `tags` (sorted by key, so the order is stable).
    public func createSnapshot(volumeID: String, name: String, tags: [String: String]) throws(SnapfleetError) -> EC2Snapshot {
        let ordered = [("Name", name)] + tags.filter { $0.key != "Name" }.sorted { $0.key < $1.key }
        var parameters = [("VolumeId", volumeID), ("TagSpecification.1.ResourceType", "snapshot")]
        for (index, tag) in ordered.enumerated() {
            parameters += [("TagSpecification.1.Tag.\(index + 1).Key", tag.0), ("TagSpecification.1.Tag.\(index + 1).Value", tag.1)]
        }
        return EC2Snapshot(xml: try call("CreateSnapshot", parameters))
    }

    /// `DescribeSnapshots` by ids and filters (ids are exact; filter by tag to find snapshots of one backup).
    public func describeSnapshots(ids: [String] = [], owners: [String] = [], filters: [EC2Filter] = []) throws(SnapfleetError) -> [EC2Snapshot] {
        let parameters = Self.list("SnapshotId", ids) + Self.list("Owner", owners) + Self.filters(filters)
        return try paginated("DescribeSnapshots", parameters) { $0.child("snapshotSet")?.children("item").map(EC2Snapshot.init) ?? [] }
    }

    /// `CreateVolume` from a snapshot in `zone` (gp3), named `name`; returns the new volume's id.
    public func createVolume(fromSnapshot snapshotID: String, zone: String, name: String) throws(SnapfleetError) -> String {
        let parameters = [
            ("SnapshotId", snapshotID), ("AvailabilityZone", zone), ("VolumeType", "gp3"), ("TagSpecification.1.ResourceType", "volume"),
            ("TagSpecification.1.Tag.1.Key", "Name"), ("TagSpecification.1.Tag.1.Value", name),
        ]
        let id = try call("CreateVolume", parameters).value("volumeId") ?? ""
        guard !id.isEmpty else { throw SnapfleetError(.invalidBody, "CreateVolume returned no volumeId") }
        return id
    }

    /// `AttachVolume` as `device`.
    public func attachVolume(_ volumeID: String, instanceID: String, device: String) throws(SnapfleetError) {
        _ = try call("AttachVolume", [("VolumeId", volumeID), ("InstanceId", instanceID), ("Device", device)])
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
