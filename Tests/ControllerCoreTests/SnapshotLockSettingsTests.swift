import CloudSnapshots
import ControllerCore
import SnapfleetConfig
import SnapfleetCore
import Testing

@Suite("snapshot_lock and backup_lease_seconds: EC2's rules, checked before any backup")
struct SnapshotLockSettingsTests {
    let agentKey = "HelloWorldHelloWorldHelloWorldHelloWorld"

    /// A file with one AWS server whose `aws.snapshot_lock` is `lock`.
    func config(lock: String, extra: String = "") throws(SnapfleetError) -> ControllerConfig {
        try ConfigLoader.decode(
            ControllerConfig.self,
            yaml: """
                key_file: /k
                \(extra)
                servers:
                  pg1:
                    agent_key: "\(agentKey)"
                    provider: aws
                    aws:
                      region: us-east-1
                      snapshot_lock: \(lock)
                """, path: "/etc/snapfleet/controller.yaml")
    }

    /// The message `validate` throws for `lock`, or nil if it passes.
    func problem(_ lock: String) throws -> String? {
        do {
            try config(lock: lock).validate()
            return nil
        } catch {
            return error.message
        }
    }

    @Test("a compliance lock with duration and cool-off becomes the provider's policy")
    func validPolicy() throws {
        let config = try config(lock: "{mode: compliance, duration_days: 7, cool_off_hours: 1}")
        try config.validate()
        #expect(
            config.servers["pg1"]?.aws?.snapshotLock?.policy == SnapshotLockPolicy(mode: "compliance", durationDays: 7, coolOffHours: 1))
        #expect(config.backupLeaseSeconds == 60, "the default lease")
        #expect(try problem("{mode: governance, expiration_date: \"2030-01-01T00:00:00.000Z\"}") == nil)
    }

    @Test(
        "invalid locks are refused naming the key",
        arguments: [
            ("{mode: strict, duration_days: 7}", "key 'servers.pg1.aws.snapshot_lock.mode' must be governance or compliance, not 'strict'"),
            ("{mode: governance}", "key 'servers.pg1.aws.snapshot_lock' needs duration_days or expiration_date"),
            (
                "{mode: governance, duration_days: 1, expiration_date: \"2030-01-01T00:00:00.000Z\"}",
                "key 'servers.pg1.aws.snapshot_lock' takes duration_days or expiration_date, not both"
            ),
            ("{mode: governance, duration_days: 0}", "key 'servers.pg1.aws.snapshot_lock.duration_days' must be between 1 and 36500"),
            (
                "{mode: governance, duration_days: 3, cool_off_hours: 1}",
                "key 'servers.pg1.aws.snapshot_lock.cool_off_hours' applies only to mode compliance"
            ),
            (
                "{mode: compliance, duration_days: 3, cool_off_hours: 73}",
                "key 'servers.pg1.aws.snapshot_lock.cool_off_hours' must be between 1 and 72"
            ),
            (
                "{mode: compliance, expiration_date: \"2030-01-01\"}",
                "key 'servers.pg1.aws.snapshot_lock.expiration_date' '2030-01-01' is not a UTC time"
            ),
        ])
    func invalidLocks(lock: String, message: String) throws {
        #expect(try problem(lock) == message)
    }

    @Test("an unknown lock key is refused by the loader")
    func unknownLockKey() {
        #expect(throws: SnapfleetError.self) { try config(lock: "{mode: compliance, duration: 7}") }
    }

    @Test("backup_lease_seconds must be between 5 and 3600")
    func leaseRange() throws {
        #expect(try config(lock: "{mode: governance, duration_days: 1}", extra: "backup_lease_seconds: 10").backupLeaseSeconds == 10)
        #expect(throws: SnapfleetError(.invalidConfiguration, "key 'backup_lease_seconds' must be between 5 and 3600")) {
            try config(lock: "{mode: governance, duration_days: 1}", extra: "backup_lease_seconds: 4").validate()
        }
    }
}
