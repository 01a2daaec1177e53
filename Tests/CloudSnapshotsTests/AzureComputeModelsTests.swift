import Foundation
import Testing

@testable import CloudSnapshots

/// Resource Manager's documents as the references show them (Tests/Fixtures/azure), and what the
/// provider makes of them.
@Suite("Azure Resource Manager documents")
struct AzureComputeModelsTests {
    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/azure/\(name)")
        return try JSONDecoder().decode(type, from: Data(contentsOf: file))
    }

    @Test("a snapshot is pending while created or copying, completed once succeeded, copied and available")
    func snapshotStates() throws {
        let creating = try Self.decode(AzureDiskSnapshot.self, "snapshot-creating.json")
        let info = AzureSnapshotProvider.info(creating, disk: "")
        #expect(info.state == .pending && info.progressPercent == 0)
        #expect(info.id == "pg-primary-data-20260504T100000Z")
        #expect(info.diskID.hasSuffix("/providers/Microsoft.Compute/disks/pg-primary-data"))
        var copying = try Self.decode(AzureDiskSnapshot.self, "snapshot-succeeded.json")
        #expect(AzureSnapshotProvider.info(copying, disk: "").state == .completed)
        copying.properties?.completionPercent = 40
        copying.properties?.snapshotAccessState = "Pending"
        #expect(AzureSnapshotProvider.info(copying, disk: "") == info.with(state: .pending, progress: 40))
        copying.properties?.provisioningState = "Failed"
        #expect(AzureSnapshotProvider.info(copying, disk: "").state == .error)
    }

    @Test("a failed operation says why; a VM lists its data disks with their LUNs")
    func operationsAndVMs() throws {
        let failed = try Self.decode(AzureAsyncOperation.self, "async-operation-failed.json")
        #expect(failed.isDone && !failed.succeeded)
        #expect(failed.failureText == "Failed: InternalDiskManagementError: An internal execution error occurred. Please retry later.")
        #expect(try Self.decode(AzureAsyncOperation.self, "async-operation-inprogress.json").isDone == false)
        let vm = try Self.decode(AzureVM.self, "virtual-machine.json")
        #expect(vm.dataDisks.map(\.deviceName) == ["lun0"])
        #expect(vm.dataDisks.first?.managedDisk?.id.map { AzureResourceID.lastSegment($0) } == "pg-primary-data")
        #expect(AzureResourceID.same(vm.dataDisks.first?.managedDisk?.id, vm.dataDisks.first?.managedDisk?.id?.uppercased()))
        #expect(
            AzureResourceID.isValidName("pg-primary-data-20260504t100000") && !AzureResourceID.isValidName("-x") && !AzureResourceID.isValidName("x.")
        )
    }
}

extension SnapshotInfo {
    /// The same snapshot in another state.
    fileprivate func with(state: SnapshotState, progress: Int?) -> SnapshotInfo {
        var copy = self
        copy.state = state
        copy.progressPercent = progress
        return copy
    }
}
