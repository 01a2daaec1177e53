import Foundation
import PostgresBackup
import SnapfleetCore
import Synchronization
import TestSupport
import Testing

/// Collects the backup ids the driver reports as expired.
final class ExpiryLog: Sendable {
    private let ids = Mutex<[String]>([])
    func record(_ id: String) { ids.withLock { $0.append(id) } }
    var reported: [String] { ids.withLock { $0 } }
}

/// Runs against a cluster of its own (archiving into a directory, so ended backups leave a
/// history file behind) and one test at a time, because some tests hold a spread checkpoint.
@Suite("BackupSessionDriver", .serialized)
struct BackupSessionDriverTests {
    let cluster: PostgresCluster
    let app = uniqueName("sf-backup")
    let expiries = ExpiryLog()

    init() throws {
        cluster = try PostgresCluster.shared(
            "backup-session", settings: ["shared_buffers": "32MB"], archiveToDirectory: true)
    }

    private func makeDriver(conninfo: String? = nil) -> BackupSessionDriver {
        let configuration = BackupSessionDriver.Configuration(
            conninfo: Redacted(conninfo ?? cluster.conninfo), connectTimeout: .seconds(3), applicationName: app,
            tickInterval: .milliseconds(100), livenessInterval: .milliseconds(200))
        let log = expiries
        return BackupSessionDriver(configuration: configuration) { log.record($0) }
    }

    /// Client sessions of this test's driver.
    private func backends() throws -> Int {
        Int(
            try cluster.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = '\(app)'"))!
    }

    /// The text of the archived backup history file that names `label`, if any.
    private func archivedHistoryFile(label: String) -> (name: String, text: String)? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cluster.archiveDirectory)) ?? []
        for name in names where name.hasSuffix(".backup") {
            let text = (try? String(contentsOfFile: "\(cluster.archiveDirectory)/\(name)", encoding: .utf8)) ?? ""
            if text.contains("LABEL: \(label)\n") { return (name, text) }
        }
        return nil
    }

    /// Leaves enough dirty buffers that a spread (non-fast) checkpoint takes many seconds.
    private func dirtyBuffers() throws {
        try cluster.psql(
            """
            CREATE TABLE IF NOT EXISTS ballast (g int, pad text);
            INSERT INTO ballast SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
            """)
    }

    @Test("start reports a start LSN and WAL file that agree; stop returns a backup_label naming them and the label")
    func startAndStop() async throws {
        let driver = makeDriver()
        let label = uniqueName("label")
        let started = try await driver.start(backupID: "b1", label: label, fastCheckpoint: true, lease: .seconds(30))
        #expect(started.phase == .running)
        let start = try #require(started.start)
        #expect(start.walFileName == WALFileName(timeline: start.timeline, lsn: start.lsn, segmentSize: 16 << 20))
        #expect(start.walFileName.description == (try cluster.psql("SELECT pg_walfile_name('\(start.lsn)')")))
        #expect(start.timeline == 1)
        #expect(start.time.contains(#/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$/#))
        #expect(try await driver.state(backupID: "b1") == started)
        #expect(try backends() == 1)

        let stopped = try await driver.stop(backupID: "b1", waitForArchive: true)
        #expect(stopped.phase == .stopped)
        let stop = try #require(stopped.stop)
        #expect(stop.backupLabel.contains("START WAL LOCATION: \(start.lsn) (file \(start.walFileName))\n"))
        #expect(stop.backupLabel.contains("LABEL: \(label)\n"))
        #expect(stop.backupLabel.contains("START TIMELINE: 1\n"))
        #expect(stop.lsn >= start.lsn)
        #expect(stop.walFileName == WALFileName(timeline: 1, lsn: stop.lsn, segmentSize: 16 << 20))
        #expect(stop.tablespaceMap?.isEmpty ?? true)
        #expect(stop.time >= start.time)
        let history = try #require(archivedHistoryFile(label: label), "pg_backup_stop waited for archiving")
        #expect(history.text.contains("STOP WAL LOCATION: \(stop.lsn) (file \(stop.walFileName))"))

        #expect(try await driver.stop(backupID: "b1", waitForArchive: true) == stopped, "a repeated stop is idempotent")
        #expect(try await eventually { try backends() == 0 }, "the session is closed after stop")
    }

    @Test("a backup whose lease runs out is ended on the server: session gone, history file archived, callback fired")
    func leaseExpiry() async throws {
        let driver = makeDriver()
        let label = uniqueName("expiring")
        let started = try await driver.start(backupID: "b2", label: label, fastCheckpoint: true, lease: .seconds(3))
        let start = try #require(started.start)

        #expect(await eventually { expiries.reported == ["b2"] })
        #expect(try await driver.state(backupID: "b2").phase == .leaseExpired)
        #expect(try await eventually { try backends() == 0 }, "the backup's session is gone")
        // The decisive trace: pg_backup_stop ran for this backup, so PostgreSQL wrote (and archived)
        // the backup history file for its start LSN. A backup left running would have none.
        #expect(await eventually { archivedHistoryFile(label: label) != nil })
        let history = try #require(archivedHistoryFile(label: label))
        #expect(history.name.hasPrefix("\(start.walFileName)."))
        #expect(history.text.contains("START WAL LOCATION: \(start.lsn)"))

        let fresh = try PostgresConnection(conninfo: Redacted(cluster.conninfo))
        let stopError = snapfleetError { try fresh.query("SELECT pg_backup_stop(false)") }
        #expect(stopError?.message.hasSuffix("(SQLSTATE 55000)") == true, "no backup is in progress on a new session")
        try fresh.query("SELECT pg_backup_start($1, true)", [uniqueName("after")])
        try fresh.query("SELECT pg_backup_stop(false)")

        let error = await snapfleetError { _ = try await driver.stop(backupID: "b2", waitForArchive: true) }
        #expect(error?.code == .backupNotRunning)
        #expect(error?.message == "backup b2 is not running (lease_expired)")
    }

    @Test("renewals keep a backup running past its first lease")
    func renewals() async throws {
        let driver = makeDriver()
        // The lease counts from the request, and a checkpoint on a loaded machine can take seconds.
        let lease = Duration.seconds(4)
        let started = ContinuousClock.now
        _ = try await driver.start(backupID: "b3", label: uniqueName("renewed"), fastCheckpoint: true, lease: lease)
        while ContinuousClock.now - started < lease * 1.5 {
            try await Task.sleep(for: .milliseconds(500))
            let renewed = try await driver.renew(backupID: "b3", lease: lease)
            #expect(renewed.phase == .running)
        }
        #expect(expiries.reported.isEmpty)
        #expect(try backends() == 1)
        #expect(try await driver.stop(backupID: "b3", waitForArchive: false).phase == .stopped)
    }

    @Test("another backup is refused while one runs; a repeated start opens no second session")
    func oneBackupAtATime() async throws {
        let driver = makeDriver()
        let first = try await driver.start(backupID: "b4", label: uniqueName("first"), fastCheckpoint: true, lease: .seconds(30))
        let error = await snapfleetError {
            _ = try await driver.start(backupID: "b5", label: "other", fastCheckpoint: true, lease: .seconds(30))
        }
        #expect(error?.code == .backupInProgress)
        #expect(error?.retryable == true)
        #expect(error?.message == "backup b4 is running on this server")

        let again = try await driver.start(backupID: "b4", label: "ignored", fastCheckpoint: true, lease: .seconds(30))
        #expect(again == first)
        #expect(try backends() == 1)
        _ = try await driver.abort(backupID: "b4")
    }

    @Test("abort ends the backup; a later stop is refused; unknown backups are not found")
    func abortAndUnknown() async throws {
        let driver = makeDriver()
        let label = uniqueName("aborted")
        _ = try await driver.start(backupID: "b6", label: label, fastCheckpoint: true, lease: .seconds(30))
        let aborted = try await driver.abort(backupID: "b6")
        #expect(aborted.phase == .aborted)
        #expect(try await eventually { try backends() == 0 })
        #expect(await eventually { archivedHistoryFile(label: label) != nil }, "the backup was stopped on the server")
        #expect(try await driver.abort(backupID: "b6") == aborted, "a repeated abort returns the state")

        let stop = await snapfleetError { _ = try await driver.stop(backupID: "b6", waitForArchive: true) }
        #expect(stop?.code == .backupNotRunning)
        #expect(stop?.message == "backup b6 is not running (aborted)")
        let renew = await snapfleetError { _ = try await driver.renew(backupID: "b6", lease: .seconds(5)) }
        #expect(renew?.code == .backupNotRunning)

        for call in [
            { _ = try await driver.stop(backupID: "nope", waitForArchive: true) },
            { _ = try await driver.renew(backupID: "nope", lease: .seconds(5)) },
            { _ = try await driver.abort(backupID: "nope") },
            { _ = try await driver.state(backupID: "nope") },
        ] as [() async throws -> Void] {
            let error = await snapfleetError(call)
            #expect(error?.code == .backupNotFound)
            #expect(error?.message == "no backup nope is known to this agent")
        }
    }

    @Test("abort interrupts a pg_backup_start that waits for a spread checkpoint")
    func abortWhileStarting() async throws {
        try dirtyBuffers()
        defer { _ = try? cluster.psql("CHECKPOINT") }  // finish the spread checkpoint for the next test
        let driver = makeDriver()
        let start = Task {
            try await driver.start(backupID: "b7", label: uniqueName("slow"), fastCheckpoint: false, lease: .seconds(60))
        }
        #expect(try await eventually { try backends() == 1 })
        try await Task.sleep(for: .seconds(1))
        #expect(try await driver.state(backupID: "b7").phase == .starting, "pg_backup_start is still waiting")

        let began = ContinuousClock.now
        let aborted = try await driver.abort(backupID: "b7")
        #expect(aborted.phase == .aborted)
        #expect(ContinuousClock.now - began < .seconds(10))
        let error = await snapfleetError { _ = try await start.value }
        #expect(error?.code == .backupNotRunning)
        #expect(error?.message == "backup b7 is not running (aborted)")
        #expect(try await eventually { try backends() == 0 })
    }

    @Test("lease expiry interrupts a pg_backup_start that waits for a spread checkpoint")
    func expiryWhileStarting() async throws {
        try dirtyBuffers()
        defer { _ = try? cluster.psql("CHECKPOINT") }
        let driver = makeDriver()
        let began = ContinuousClock.now
        let error = await snapfleetError {
            _ = try await driver.start(backupID: "b8", label: uniqueName("slow"), fastCheckpoint: false, lease: .seconds(1))
        }
        #expect(error?.code == .backupNotRunning)
        #expect(error?.message == "backup b8 is not running (lease_expired)")
        #expect(ContinuousClock.now - began < .seconds(10))
        #expect(await eventually { expiries.reported == ["b8"] })
        #expect(try await eventually { try backends() == 0 })
    }

    @Test("a backup whose session is terminated fails with postgres_unavailable, and stop is refused")
    func terminatedSession() async throws {
        let driver = makeDriver()
        _ = try await driver.start(backupID: "b9", label: uniqueName("killed"), fastCheckpoint: true, lease: .seconds(30))
        try cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(app)'")
        var state = try await driver.state(backupID: "b9")
        for _ in 0..<50 where state.phase == .running {
            try await Task.sleep(for: .milliseconds(100))
            state = try await driver.state(backupID: "b9")
        }
        #expect(state.phase == .failed)
        #expect(state.failure?.code == .postgresUnavailable)
        #expect(state.failure?.message == "the postgresql session holding backup b9 was lost")
        let stop = await snapfleetError { _ = try await driver.stop(backupID: "b9", waitForArchive: true) }
        #expect(stop?.code == .backupNotRunning)
        #expect(stop?.message == "backup b9 is not running (failed)")
    }

    @Test("start fails with postgres_unavailable, retryable, when PostgreSQL is down, and can be retried")
    func postgresDown() async throws {
        let nowhere = try TemporaryDirectory(prefix: "nopg")
        let driver = makeDriver(conninfo: "host=\(nowhere.path) port=5999 user=postgres password=hunter2")
        for _ in 0..<2 {
            let error = await snapfleetError {
                _ = try await driver.start(backupID: "b10", label: "down", fastCheckpoint: true, lease: .seconds(5))
            }
            #expect(error?.code == .postgresUnavailable)
            #expect(error?.retryable == true)
            #expect(error?.description.contains("hunter2") == false)
        }
        let state = try await driver.state(backupID: "b10")
        #expect(state.phase == .failed)
        #expect(state.failure?.code == .postgresUnavailable)
    }
}
