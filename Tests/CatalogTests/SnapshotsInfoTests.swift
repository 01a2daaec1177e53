import Catalog
import SnapfleetCore
import Testing

@Suite("SnapshotsInfo")
struct SnapshotsInfoTests {
    /// The `snapshots_info` value of a fixture file.
    func value(in file: String) -> String {
        String(file.split(separator: "\n").first { $0.hasPrefix("snapshots_info=") }!.dropFirst("snapshots_info=".count))
    }

    @Test("the spec's AWS, GCP and Azure values decode and re-encode exactly", arguments: [Fixtures.aws, Fixtures.gcp, Fixtures.azure])
    func roundTrip(file: String) throws {
        let text = value(in: file)
        let info = try SnapshotsInfo(literal: PythonLiteral(parsing: text))
        #expect(info.literal.repr == text)
    }

    @Test("AWS fields, built in Swift, give the spec's text")
    func awsFromScratch() throws {
        let info = SnapshotsInfo.aws(
            AWSSnapshotsInfo(
                accountID: "123456789012", region: "eu-west-1",
                snapshots: [
                    AWSSnapshot(
                        mount: SnapshotMount(mountPoint: "/opt/postgres", mountOptions: "rw,noatime"), deviceName: "/dev/sdf",
                        snapshotID: "snap-0a1b2c3d4e5f67890", snapshotName: "pgdata-20240315t021500", snapshotLockMode: nil),
                    AWSSnapshot(
                        mount: SnapshotMount(mountPoint: "/opt/postgres/tablespaces", mountOptions: "rw,noatime"),
                        deviceName: "/dev/sdg", snapshotID: "snap-0f9e8d7c6b5a43210",
                        snapshotName: "vol-0123456789abcdef0-20240315t021500", snapshotLockMode: "compliance"),
                ]))
        #expect(info.literal.repr == value(in: Fixtures.aws))
        #expect(info.provider == .aws)
        #expect(info.mounts.map(\.mountPoint) == ["/opt/postgres", "/opt/postgres/tablespaces"])
    }

    @Test("Azure keeps subscription_id before resource_group and lun as an int")
    func azure() throws {
        guard case .azure(let info) = try SnapshotsInfo(literal: PythonLiteral(parsing: value(in: Fixtures.azure))) else {
            Issue.record("not azure")
            return
        }
        #expect(info.subscriptionID == "00000000-1111-2222-3333-444444444444" && info.resourceGroup == "pg-rg")
        #expect(info.snapshots[0].lun == 0 && info.snapshots[0].location == "westeurope")
    }

    @Test("an older AWS value without snapshot_lock_mode loads with nil and writes it as None")
    func missingFieldIsNil() throws {
        let old =
            "{'provider': 'aws', 'provider_info': {'account_id': '1', 'region': 'r'}, 'snapshots': [{'mount': {'mount_options': 'rw', 'mount_point': '/m'}, 'provider': {'device_name': '/dev/sdf', 'snapshot_id': 'snap-1', 'snapshot_name': 'n'}}]}"
        let info = try SnapshotsInfo(literal: PythonLiteral(parsing: old))
        #expect(info.literal.repr.contains("'snapshot_name': 'n', 'snapshot_lock_mode': None}"))
    }

    @Test("the local provider has the documented shape and round-trips")
    func local() throws {
        let info = SnapshotsInfo.local(
            LocalSnapshotsInfo(
                host: "pg1.example",
                snapshots: [
                    LocalSnapshot(
                        mount: SnapshotMount(mountPoint: "/srv/pg", mountOptions: "rw,relatime"), deviceName: "/dev/loop3",
                        imagePath: "/var/lib/snapfleet/disks/pgdata.img",
                        snapshotImagePath: "/var/lib/snapfleet/snapshots/pgdata-20240315t021500.img",
                        snapshotName: "pgdata-20240315t021500")
                ]))
        let text = info.literal.repr
        #expect(
            text
                == "{'provider': 'local', 'provider_info': {'host': 'pg1.example'}, 'snapshots': [{'mount': {'mount_options': 'rw,relatime', 'mount_point': '/srv/pg'}, 'provider': {'device_name': '/dev/loop3', 'image_path': '/var/lib/snapfleet/disks/pgdata.img', 'snapshot_image_path': '/var/lib/snapfleet/snapshots/pgdata-20240315t021500.img', 'snapshot_name': 'pgdata-20240315t021500'}}]}"
        )
        #expect(try SnapshotsInfo(literal: PythonLiteral(parsing: text)) == info)
        #expect(info.snapshotIdentifiers == ["/var/lib/snapfleet/snapshots/pgdata-20240315t021500.img"])
    }

    @Test(
        "unknown keys, wrong types and unknown providers are refused with their place",
        arguments: [
            (
                "{'provider': 'gcp', 'provider_info': {'project': 'p', 'zone': 'z'}, 'snapshots': []}",
                "snapshots_info.provider_info: unknown key 'zone'"
            ),
            (
                "{'provider': 'azure', 'provider_info': {}, 'snapshots': [{'mount': {}, 'provider': {'lun': '0'}}]}",
                "snapshots_info.snapshots[0].provider.lun: expected an int, found '0'"
            ),
            (
                "{'provider': 'aws', 'provider_info': {}, 'snapshots': [{'mount': {'mount_point': 7}}]}",
                "snapshots_info.snapshots[0].mount.mount_point: expected a str, found 7"
            ),
            ("{'provider': 'aws', 'provider_info': {}}", "snapshots_info: missing 'snapshots'"),
            ("{'provider_info': {}, 'snapshots': []}", "snapshots_info: missing 'provider'"),
            ("['aws']", "snapshots_info: expected a dict"),
            ("{'provider': 'oracle', 'snapshots': []}", "Unsupported snapshot provider in backup info: oracle"),
        ])
    func invalid(text: String, message: String) throws {
        let literal = try PythonLiteral(parsing: text)
        let error = #expect(throws: SnapfleetError.self) { try SnapshotsInfo(literal: literal) }
        #expect(error?.code == .invalidBody)
        #expect(error?.message == message)
    }
}
