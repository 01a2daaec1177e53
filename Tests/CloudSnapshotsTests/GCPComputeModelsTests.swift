import CloudCredentials
import Foundation
import HTTPClient
import Testing

@testable import CloudSnapshots

/// The Compute Engine documents the client reads, decoded from the examples of the published
/// reference kept in Tests/Fixtures/gcp (the GCP stand-in's self-test checks its answers against
/// the same files, so the two cannot drift apart).
@Suite("Compute Engine documents from the reference's examples")
struct GCPComputeModelsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gcp")

    func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    @Test("an instance's disks, in order, with device names and the disk names their sources end in")
    func instance() throws {
        let instance = try decode(GCEInstance.self, "instance.json")
        #expect(instance.name == "pg-main-1")
        #expect(instance.disks?.map(\.deviceName) == ["pg-main-1", "pgdata", "pgwal"])
        #expect(instance.disks?.map(\.diskName) == ["pg-main-1", "pg-main-1-data", "pg-main-1-wal"])
        #expect(instance.disks?.map(\.boot) == [true, false, false])
    }

    @Test("a disk made from a snapshot names it; its size is a decimal string")
    func disk() throws {
        let disk = try decode(GCEDisk.self, "disk.json")
        #expect(disk.sizeGb == "200")
        #expect(disk.sourceSnapshot.flatMap { GCPNames.lastSegment($0) } == "pg-main-1-data-20261207t092801")
    }

    @Test("snapshot states map onto snapfleet's: UPLOADING is captured but pending, READY complete")
    func snapshots() throws {
        let uploading = GCPSnapshotProvider.info(try decode(GCESnapshot.self, "snapshot-uploading.json"), disk: "")
        #expect(uploading.state == .pending && uploading.progressPercent == 50)
        #expect(uploading.diskID == "pg-main-1-data")
        let ready = GCPSnapshotProvider.info(try decode(GCESnapshot.self, "snapshot-ready.json"), disk: "")
        #expect(ready.state == .completed)
        let page = try decode(GCEListPage<GCESnapshot>.self, "snapshot-list-page.json")
        #expect(page.items?.count == 1 && page.nextPageToken?.isEmpty == false)
    }

    @Test("operations: running, done, and done with errors (their codes and messages)")
    func operations() throws {
        #expect(try decode(GCEOperation.self, "operation-running.json").status == "RUNNING")
        let done = try decode(GCEOperation.self, "operation-done.json")
        #expect(done.status == "DONE" && done.failureText == nil)
        let failed = try decode(GCEOperation.self, "operation-error.json")
        #expect(failed.failureText == "INTERNAL_ERROR: Internal error. The snapshot could not be created.")
    }

    @Test("error documents give the reason and message the client reports")
    func errors() throws {
        for (name, status, reason) in [("error-notfound.json", 404, "notFound"), ("error-unauthenticated.json", 401, "required")] {
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
            let reply = GoogleErrorReply(HTTPResponse(status: status, headers: [:], body: body))
            #expect(reply.reason != nil, "\(name)")
            #expect(reply.summary.hasPrefix("http \(status) "), "\(reply.summary)")
            if status == 404 { #expect(reply.reason == reason && reply.message.contains("was not found")) }
        }
    }
}
