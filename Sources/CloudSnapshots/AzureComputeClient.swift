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

/// The Azure Resource Manager calls snapfleet makes on Microsoft.Compute, in one resource group.
///
/// Creations (snapshot and disk PUTs, the VM update that attaches a disk) are long-running
/// operations followed through `Azure-AsyncOperation` (or `Location`); after an answer that may
/// have been lost they are looked up before being sent again.
public struct AzureComputeClient: Sendable {
    /// The api-version of `virtualMachines` calls (ComputeRP).
    public static let computeAPIVersion = "2024-11-01"
    /// The api-version of `disks` and `snapshots` calls (DiskRP; the first with `snapshotAccessState`).
    public static let diskAPIVersion = "2025-01-02"

    /// The subscription id.
    public let subscription: String
    /// The resource group holding the VM, its disks and the snapshots.
    public let resourceGroup: String
    /// `https://management.azure.com`, or the injected one (tests).
    public let endpoint: String
    /// The longest wait between two polls of an operation, whatever `Retry-After` asks.
    public let maxPollInterval: TimeInterval
    let client: CloudJSONClient

    /// A client for `resourceGroup` of `subscription`, with tokens for `azureManagementResource`.
    public init(
        subscription: String, resourceGroup: String, endpoint: String? = nil, tokens: any AccessTokenSource,
        retry: EC2RetryPolicy = .standard, maxPollInterval: TimeInterval = 5
    ) {
        self.subscription = subscription
        self.resourceGroup = resourceGroup
        var base = endpoint ?? "https://management.azure.com"
        while base.hasSuffix("/") { base.removeLast() }
        self.endpoint = base
        self.maxPollInterval = maxPollInterval
        client = CloudJSONClient(provider: "azure", tokens: tokens, retry: retry) { response in
            let body = AzureComputeClient.errorBody(response)
            let code = body?.code ?? "HTTP\(response.status)"
            let message = body?.message ?? String(response.text.prefix(200))
            return (code, "http \(response.status) \(code): \(message.isEmpty ? "no message" : String(message.prefix(300)))")
        }
    }

    /// ARM's `{"error": {"code", "message"}}` of a response, if it has one.
    static func errorBody(_ response: HTTPResponse) -> AzureErrorBody? {
        struct Document: Decodable { var error: AzureErrorBody? }
        return (try? JSONDecoder().decode(Document.self, from: Data(response.body)))?.error
    }

    // MARK: - URLs

    /// `…/resourceGroups/RG/providers/Microsoft.Compute/KIND[/NAME]?api-version=…`.
    func url(_ kind: String, _ name: String? = nil, query: [(String, String)] = []) -> String {
        let version = kind == "virtualMachines" ? Self.computeAPIVersion : Self.diskAPIVersion
        var path = "/subscriptions/\(segment(subscription))/resourceGroups/\(segment(resourceGroup))/providers/Microsoft.Compute/\(kind)"
        if let name { path += "/" + segment(name) }
        return endpoint + path + "?"
            + ([("api-version", version)] + query).map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }
            .joined(separator: "&")
    }

    /// One path segment, encoded.
    private func segment(_ text: String) -> String { URIEncoding.encode(text) }

    /// Whether `url` (from a `nextLink`, `Location` or `Azure-AsyncOperation`) is on the management
    /// endpoint: the bearer token goes with it, so a URL elsewhere is never followed.
    func isOnEndpoint(_ url: String) -> Bool { url.hasPrefix(endpoint + "/") }

    // MARK: - Reads

    /// `virtualMachines/get`; nil when there is no such VM in the group.
    public func virtualMachine(name: String) throws(SnapfleetError) -> AzureVM? {
        try get(AzureVM.self, "virtualMachines.get", url("virtualMachines", name))
    }

    /// `disks/get`; nil when there is no such disk in the group.
    public func disk(name: String) throws(SnapfleetError) -> AzureManagedDisk? {
        try get(AzureManagedDisk.self, "disks.get", url("disks", name))
    }

    /// `disks/get` by ARM id (a VM's disk may sit in another group); nil when there is none.
    public func disk(id: String) throws(SnapfleetError) -> AzureManagedDisk? {
        guard id.hasPrefix("/"), !id.contains("?"), !id.contains("#"), !id.contains("..") else {
            throw SnapfleetError(.invalidBody, "'\(id)' is not an azure resource id")
        }
        let path = id.split(separator: "/").map { URIEncoding.encode(String($0)) }.joined(separator: "/")
        return try get(AzureManagedDisk.self, "disks.get", "\(endpoint)/\(path)?api-version=\(Self.diskAPIVersion)")
    }

    /// `snapshots/get`; nil when there is none by that name.
    public func snapshot(name: String) throws(SnapfleetError) -> AzureDiskSnapshot? {
        try get(AzureDiskSnapshot.self, "snapshots.get", url("snapshots", name))
    }

    /// `snapshots/listByResourceGroup`, every page.
    public func snapshots() throws(SnapfleetError) -> [AzureDiskSnapshot] {
        var found: [AzureDiskSnapshot] = []
        var next: String? = url("snapshots")
        while let page = next {
            guard isOnEndpoint(page) else { throw SnapfleetError(.httpError, "azure snapshots.list answered a nextLink off the endpoint") }
            let decoded = try client.decode(
                AzureListPage<AzureDiskSnapshot>.self, "snapshots.list", try client.call("snapshots.list", .get, page))
            found += decoded.value ?? []
            next = decoded.nextLink.flatMap { $0.isEmpty ? nil : $0 }
        }
        return found
    }

    /// A GET whose 404 for the resource itself is nil (a missing group or subscription is an error).
    private func get<T: Decodable>(_ type: T.Type, _ action: String, _ url: String) throws(SnapfleetError) -> T? {
        let response = try client.call(action, .get, url)
        if response.status == 404, ["ResourceNotFound", "NotFound"].contains(Self.errorBody(response)?.code ?? "NotFound") { return nil }
        return try client.decode(type, action, response)
    }

    // MARK: - Changes

    /// `snapshots/createOrUpdate` of an incremental snapshot of `diskID` in `location`, tagged;
    /// the operation to follow, or nil when a lost reply's snapshot of that disk was found instead
    /// (follow its `provisioningState`).
    public func createSnapshot(name: String, location: String, diskID: String, tags: [String: String]) throws(SnapfleetError)
        -> AzureLongRunningOperation?
    {
        struct Body: Encodable {
            struct Properties: Encodable {
                var creationData: AzureCreationData
                var incremental: Bool
            }
            var location: String
            var tags: [String: String]
            var properties: Properties
        }
        let body = try json(
            Body(
                location: location, tags: tags,
                properties: .init(creationData: AzureCreationData(createOption: "Copy", sourceResourceId: diskID), incremental: true)))
        let isOurs = { () throws(SnapfleetError) -> Bool in AzureResourceID.same(try snapshot(name: name)?.sourceDiskID, diskID) }
        return try client.create("snapshots.createOrUpdate", .put, url("snapshots", name), body: body) {
            response throws(SnapfleetError) -> AzureLongRunningOperation? in
            // 409 AnotherOperationInProgress: the snapshot a lost reply (or an earlier run) started is still being created.
            if response.status == 409, try isOurs() { return nil }
            return try operation("snapshots.createOrUpdate", response)
        } existing: { () throws(SnapfleetError) -> AzureLongRunningOperation?? in
            try isOurs() ? .some(nil) : nil
        }
    }

    /// `snapshots/delete`: the operation to follow, or nil when there was no such snapshot.
    /// A snapshot whose creation is still running (409 AnotherOperationInProgress) is waited for
    /// first, up to `timeout`.
    public func deleteSnapshot(name: String, timeout: TimeInterval = 600) throws(SnapfleetError) -> AzureLongRunningOperation? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let response = try client.call("snapshots.delete", .delete, url("snapshots", name))
            if response.status == 204 || response.status == 404 { return nil }
            if response.status == 409, Self.errorBody(response)?.code == "AnotherOperationInProgress", Date() < deadline {
                pause(1)
                continue
            }
            return try operation("snapshots.delete", response)
        }
    }

    /// `disks/createOrUpdate` of a disk copied from `snapshotID` in `location`: the operation to
    /// follow, or nil when a lost reply's disk from that snapshot was found instead.
    public func createDisk(name: String, location: String, snapshotID: String) throws(SnapfleetError) -> AzureLongRunningOperation? {
        struct Body: Encodable {
            struct Properties: Encodable { var creationData: AzureCreationData }
            var location: String
            var properties: Properties
        }
        let body = try json(
            Body(location: location, properties: .init(creationData: AzureCreationData(createOption: "Copy", sourceResourceId: snapshotID))))
        let isOurs = { () throws(SnapfleetError) -> Bool in
            AzureResourceID.same(try disk(name: name)?.properties?.creationData?.sourceResourceId, snapshotID)
        }
        return try client.create("disks.createOrUpdate", .put, url("disks", name), body: body) {
            response throws(SnapfleetError) -> AzureLongRunningOperation? in
            if response.status == 409, try isOurs() { return nil }
            return try operation("disks.createOrUpdate", response)
        } existing: { () throws(SnapfleetError) -> AzureLongRunningOperation?? in
            try isOurs() ? .some(nil) : nil
        }
    }

    /// `virtualMachines/update` attaching `diskID` at `lun` (the VM's other data disks listed as
    /// they are: a disk left out of the list is detached). The operation to follow, or nil when
    /// the disk is attached so already (a lost reply's).
    public func attachDisk(vm name: String, diskID: String, lun: Int) throws(SnapfleetError) -> AzureLongRunningOperation? {
        struct Body: Encodable {
            struct StorageProfile: Encodable { var dataDisks: [AzureDataDisk] }
            struct Properties: Encodable { var storageProfile: StorageProfile }
            var properties: Properties
        }
        guard let vm = try virtualMachine(name: name) else {
            throw SnapfleetError(
                .notFound, "Cannot find instance with name \(name) in resource group \(resourceGroup) in subscription \(subscription)")
        }
        let attached = { (found: AzureVM?) in found?.dataDisks.contains { $0.lun == lun && AzureResourceID.same($0.managedDisk?.id, diskID) } == true
        }
        if attached(vm) { return nil }
        let disks =
            vm.dataDisks.map { AzureDataDisk(lun: $0.lun, name: $0.name, createOption: "Attach", caching: $0.caching, managedDisk: $0.managedDisk) }
            + [AzureDataDisk(lun: lun, createOption: "Attach", managedDisk: .init(id: diskID))]
        let body = try json(Body(properties: .init(storageProfile: .init(dataDisks: disks))))
        return try client.create("virtualMachines.update", .patch, url("virtualMachines", name), body: body) {
            response throws(SnapfleetError) -> AzureLongRunningOperation? in
            try operation("virtualMachines.update", response)
        } existing: { () throws(SnapfleetError) -> AzureLongRunningOperation?? in
            attached(try virtualMachine(name: name)) ? .some(nil) : nil
        }
    }

    // MARK: - Long-running operations

    /// The operation a 2xx answer starts (nil headers: it was synchronous); an error for any other.
    func operation(_ action: String, _ response: HTTPResponse) throws(SnapfleetError) -> AzureLongRunningOperation {
        guard response.isSuccess else { throw client.error(action, response) }
        return AzureLongRunningOperation(
            asyncOperationURL: response.headers["Azure-AsyncOperation"], locationURL: response.headers["Location"],
            retryAfter: response.headers["Retry-After"].flatMap { Double($0) })
    }

    /// Polls `operation` until it ends or `timeout` passes, waiting as `Retry-After` asks (at most
    /// `maxPollInterval`); returns how it ended. The `Azure-AsyncOperation` URL is preferred, the
    /// `Location` URL (202 while running) is the fallback; with neither it ended already.
    public func wait(for operation: AzureLongRunningOperation, what: String, timeout: TimeInterval = 600) throws(SnapfleetError)
        -> AzureAsyncOperation
    {
        let deadline = Date().addingTimeInterval(timeout)
        if operation.asyncOperationURL != nil || operation.locationURL != nil, let first = operation.retryAfter { pause(first) }
        while true {
            let response: HTTPResponse
            let status: AzureAsyncOperation
            if let url = operation.asyncOperationURL {
                guard isOnEndpoint(url) else { throw SnapfleetError(.httpError, "azure \(what): the operation url is off the endpoint") }
                response = try client.call("operations.get", .get, url)
                status = try client.decode(AzureAsyncOperation.self, "operations.get", response)
            } else if let url = operation.locationURL {
                guard isOnEndpoint(url) else { throw SnapfleetError(.httpError, "azure \(what): the operation url is off the endpoint") }
                response = try client.call("operations.get", .get, url)
                switch response.status {
                case 202: status = AzureAsyncOperation(status: "InProgress")
                case 200..<300: status = AzureAsyncOperation(status: "Succeeded")
                default:
                    guard !CloudJSONClient.isRetryable(response.status) else { throw client.error("operations.get", response) }
                    status = AzureAsyncOperation(status: "Failed", error: Self.errorBody(response))
                }
            } else {
                return AzureAsyncOperation(status: "Succeeded")
            }
            if status.isDone { return status }
            guard Date() < deadline else { throw SnapfleetError(.timeout, "azure \(what) not done after \(Int(timeout)) s") }
            pause(response.headers["Retry-After"].flatMap { Double($0) } ?? 1)
        }
    }

    /// Polls `provisioningState` (read by `state`) until it is no longer `Updating`/`Creating` or
    /// `timeout` passes: how a creation found after a lost reply is followed.
    public func waitForProvisioning(what: String, timeout: TimeInterval = 600, _ state: () throws(SnapfleetError) -> String?) throws(SnapfleetError)
        -> AzureAsyncOperation
    {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let current = try state() ?? "Failed"
            if !["updating", "creating", "accepted", "inprogress"].contains(current.lowercased()) {
                return AzureAsyncOperation(status: current)
            }
            guard Date() < deadline else { throw SnapfleetError(.timeout, "azure \(what) still \(current) after \(Int(timeout)) s") }
            pause(1)
        }
    }

    /// Sleeps `seconds`, at most `maxPollInterval` and at least a tenth of a second.
    private func pause(_ seconds: Double) {
        usleep(UInt32(min(max(seconds, 0.1), maxPollInterval) * 1_000_000))
    }

    /// A JSON body.
    private func json(_ value: some Encodable) throws(SnapfleetError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(value)) } catch { throw SnapfleetError(.internalError, "cannot encode a request body: \(error)") }
    }
}
