import AWSSigning
import CloudCredentials
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The Compute Engine v1 REST calls snapfleet makes, in one project.
///
/// Creations carry a `requestId`, which Compute Engine uses to ignore a repeated request, and after
/// an answer that may have been lost are looked up by name before being sent again.
public struct GCPComputeClient: Sendable {
    /// The project.
    public let project: String
    /// `https://compute.googleapis.com`, or the injected one (tests).
    public let endpoint: String
    let client: CloudJSONClient

    /// A client for `project`.
    public init(project: String, endpoint: String? = nil, tokens: any AccessTokenSource, retry: EC2RetryPolicy = .standard) {
        self.project = project
        let base = endpoint ?? "https://compute.googleapis.com"
        self.endpoint = base.hasSuffix("/") ? String(base.dropLast()) : base
        client = CloudJSONClient(provider: "gcp", tokens: tokens, retry: retry) { response in
            let reply = GoogleErrorReply(response)
            return (reply.reason ?? "HTTP\(response.status)", reply.summary)
        }
    }

    /// `…/compute/v1/projects/PROJECT/` + `path`.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        let base = "\(endpoint)/compute/v1/projects/\(URIEncoding.encode(project))/\(path)"
        return query.isEmpty ? base : base + "?" + query.map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }.joined(separator: "&")
    }

    /// `instances.get`; nil when there is no such instance in the zone.
    public func instance(zone: String, name: String) throws(SnapfleetError) -> GCEInstance? {
        let response = try client.call("instances.get", .get, url("zones/\(segment(zone))/instances/\(segment(name))"))
        if response.status == 404 { return nil }
        return try client.decode(GCEInstance.self, "instances.get", response)
    }

    /// `disks.get`; nil when there is no such disk in the zone.
    public func disk(zone: String, name: String) throws(SnapfleetError) -> GCEDisk? {
        let response = try client.call("disks.get", .get, url("zones/\(segment(zone))/disks/\(segment(name))"))
        if response.status == 404 { return nil }
        return try client.decode(GCEDisk.self, "disks.get", response)
    }

    /// `snapshots.get`; nil when there is none by that name.
    public func snapshot(name: String) throws(SnapfleetError) -> GCESnapshot? {
        let response = try client.call("snapshots.get", .get, url("global/snapshots/\(segment(name))"))
        if response.status == 404 { return nil }
        return try client.decode(GCESnapshot.self, "snapshots.get", response)
    }

    /// `disks.createSnapshot` with labels; the snapshot exists (CREATING) once this returns. A
    /// snapshot of that name already taken of this disk (a lost reply's) counts as this one.
    public func createSnapshot(zone: String, disk: String, name: String, labels: [String: String]) throws(SnapfleetError) {
        let body = try json(["name": .string(name), "labels": .object(labels.mapValues { .string($0) })])
        let target = url("zones/\(segment(zone))/disks/\(segment(disk))/createSnapshot", query: [("requestId", UUID().uuidString.lowercased())])
        // Snapshots are global: a disk of that name in another zone is another disk.
        let isOurs = { (found: GCESnapshot) in found.sourceDisk?.hasSuffix("/zones/\(zone)/disks/\(disk)") == true }
        try client.create("disks.createSnapshot", .post, target, body: body) { response throws(SnapfleetError) in
            if response.status == 409, let found = try snapshot(name: name), isOurs(found) { return }
            _ = try client.decode(GCEOperation.self, "disks.createSnapshot", response)
        } existing: { () throws(SnapfleetError) in
            guard let found = try snapshot(name: name), isOurs(found) else { return nil }
            return ()
        }
    }

    /// `snapshots.delete`; nil when there was none (already deleted), else the operation to wait for.
    public func deleteSnapshot(name: String) throws(SnapfleetError) -> GCEOperation? {
        let response = try client.call("snapshots.delete", .delete, url("global/snapshots/\(segment(name))"))
        if response.status == 404 { return nil }
        return try client.decode(GCEOperation.self, "snapshots.delete", response)
    }

    /// `snapshots.list` with a filter, every page.
    public func snapshots(filter: String) throws(SnapfleetError) -> [GCESnapshot] {
        var found: [GCESnapshot] = []
        var token: String?
        repeat {
            var query = [("filter", filter), ("maxResults", "500")]
            if let token { query.append(("pageToken", token)) }
            let page = try client.decode(
                GCEListPage<GCESnapshot>.self, "snapshots.list", try client.call("snapshots.list", .get, url("global/snapshots", query: query)))
            found += page.items ?? []
            token = page.nextPageToken.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return found
    }

    /// `disks.insert` of a disk made from a snapshot; returns the operation (a disk of that name from
    /// that snapshot already there, a lost reply's, counts as done: nil).
    public func insertDisk(zone: String, name: String, sourceSnapshot: String) throws(SnapfleetError) -> GCEOperation? {
        let body = try json(["name": .string(name), "sourceSnapshot": .string("global/snapshots/\(sourceSnapshot)")])
        let target = url("zones/\(segment(zone))/disks", query: [("requestId", UUID().uuidString.lowercased())])
        let isOurs = { (found: GCEDisk) in found.sourceSnapshot.flatMap { GCPNames.lastSegment($0) } == sourceSnapshot }
        return try client.create("disks.insert", .post, target, body: body) { response throws(SnapfleetError) -> GCEOperation? in
            if response.status == 409, let found = try disk(zone: zone, name: name), isOurs(found) { return nil }
            return try client.decode(GCEOperation.self, "disks.insert", response)
        } existing: { () throws(SnapfleetError) -> GCEOperation?? in
            guard let found = try disk(zone: zone, name: name), isOurs(found) else { return nil }
            return .some(nil)
        }
    }

    /// `instances.attachDisk` as `deviceName`; nil when it is attached so already (a lost reply's).
    public func attachDisk(zone: String, instance: String, disk: String, deviceName: String) throws(SnapfleetError) -> GCEOperation? {
        let source = url("zones/\(segment(zone))/disks/\(segment(disk))").replacingPrefix(endpoint + "/compute/v1/", with: "")
        let body = try json(["source": .string(source), "deviceName": .string(deviceName), "mode": .string("READ_WRITE")])
        let target = url("zones/\(segment(zone))/instances/\(segment(instance))/attachDisk", query: [("requestId", UUID().uuidString.lowercased())])
        let attached = { () throws(SnapfleetError) -> Bool in
            try self.instance(zone: zone, name: instance)?.disks?.contains { $0.diskName == disk && $0.deviceName == deviceName } == true
        }
        return try client.create("instances.attachDisk", .post, target, body: body) { response throws(SnapfleetError) -> GCEOperation? in
            try client.decode(GCEOperation.self, "instances.attachDisk", response)
        } existing: { () throws(SnapfleetError) -> GCEOperation?? in
            try attached() ? .some(nil) : nil
        }
    }

    /// Polls a zonal (`zone` set) or global operation until `DONE` or `timeout`; an operation that
    /// ended with errors throws them.
    public func wait(for operation: GCEOperation, timeout: TimeInterval = 600) throws(SnapfleetError) {
        var current = operation
        let deadline = Date().addingTimeInterval(timeout)
        while current.status != "DONE" {
            guard Date() < deadline else {
                throw SnapfleetError(.timeout, "gcp operation \(operation.name) not done after \(Int(timeout)) s")
            }
            usleep(current.status == "PENDING" ? 200_000 : 500_000)
            current = try self.operation(current)
        }
        if let failure = current.failureText { throw SnapfleetError(.ioError, "gcp operation \(operation.name) failed: \(failure)") }
    }

    /// The operation's current state (`zoneOperations.get` or `globalOperations.get`).
    public func operation(_ operation: GCEOperation) throws(SnapfleetError) -> GCEOperation {
        let path =
            operation.zone.flatMap { GCPNames.lastSegment($0) }.map { "zones/\(segment($0))/operations/\(segment(operation.name))" }
            ?? "global/operations/\(segment(operation.name))"
        return try client.decode(GCEOperation.self, "operations.get", try client.call("operations.get", .get, url(path)))
    }

    /// One path segment, encoded.
    private func segment(_ text: String) -> String { URIEncoding.encode(text) }

    /// A JSON body.
    private func json(_ object: [String: JSONValue]) throws(SnapfleetError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(JSONValue.object(object))) } catch {
            throw SnapfleetError(.internalError, "cannot encode a request body: \(error)")
        }
    }
}

extension String {
    /// The string without `prefix`, or unchanged when it does not start with it.
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
