import Foundation
import PostgresBackup
import SnapfleetCore
import TestSupport
import Testing

@Suite("PostgresConnection")
struct PostgresConnectionTests {
    let cluster: PostgresCluster

    init() throws { cluster = try PostgresCluster.shared() }

    private func connect(_ name: String = uniqueName("conn")) throws -> PostgresConnection {
        try PostgresConnection(conninfo: Redacted(cluster.conninfo), applicationName: name)
    }

    @Test("runs a statement with text parameters and returns rows as text, NULL as nil")
    func queryWithParameters() throws {
        let connection = try connect()
        let rows = try connection.query("SELECT $1::text, $2::int + 1, NULL::text, $3::text IS NULL", ["a'b", "2", nil])
        #expect(rows == [["a'b", "3", nil, "t"]])
        #expect(try connection.query("SELECT g FROM generate_series(1, 3) g").map { $0[0] } == ["1", "2", "3"])
        #expect(try connection.query("SET application_name = 'x'") == [])
    }

    @Test("reports a server error with its primary message and SQLSTATE, but not the SQL text")
    func serverError() throws {
        let connection = try connect()
        let error = snapfleetError { try connection.query("SELECT 1 / $1::int", ["0"]) }
        #expect(error?.code == .postgresError)
        #expect(error?.message == "postgresql error: division by zero (SQLSTATE 22012)")
        #expect(error?.retryable == false)
        #expect(error?.description.contains("SELECT") == false)
        #expect(try connection.query("SELECT 1") == [["1"]], "the session is still usable after an error")
    }

    @Test("reports a lack of privileges with a hint")
    func privilegeError() throws {
        let connection = try connect()
        let role = uniqueName("weak").replacingOccurrences(of: "-", with: "_")
        try cluster.psql("CREATE ROLE \(role)")
        defer { _ = try? cluster.psql("DROP ROLE \(role)") }
        try connection.query("SET ROLE \(role)")
        let error = snapfleetError { try connection.query("SELECT pg_backup_start('x')") }
        #expect(error?.code == .postgresError)
        #expect(error?.message.hasSuffix("(SQLSTATE 42501)") == true)
        #expect(error?.hint != nil)
    }

    @Test("fails with postgres_unavailable, retryable, when no server listens, without printing the password")
    func serverDown() throws {
        let directory = try TemporaryDirectory(prefix: "nopg")
        let conninfo = "host=\(directory.path) port=5999 user=postgres password=hunter2 dbname=postgres"
        let error = snapfleetError { _ = try PostgresConnection(conninfo: Redacted(conninfo), connectTimeout: .seconds(2)) }
        #expect(error?.code == .postgresUnavailable)
        #expect(error?.retryable == true)
        #expect(error?.message.hasPrefix("cannot connect to postgresql: connection to server on socket") == true)
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("\n") == false)
    }

    @Test("a stopped server is postgres_unavailable and a session from before the restart is dead")
    func stoppedServer() throws {
        let own = try PostgresCluster()
        let before = try PostgresConnection(conninfo: Redacted(own.conninfo))
        try own.stop()
        let error = snapfleetError { _ = try PostgresConnection(conninfo: Redacted(own.conninfo), connectTimeout: .seconds(2)) }
        #expect(error?.code == .postgresUnavailable)
        #expect(error?.retryable == true)
        try own.start()
        #expect(!before.isAlive)
        #expect(snapfleetError { try before.query("SELECT 1") }?.code == .postgresUnavailable)
        #expect(try PostgresConnection(conninfo: Redacted(own.tcpConninfo)).query("SELECT 1") == [["1"]])
    }

    @Test("refuses an unparsable conninfo without quoting it back")
    func invalidConninfo() {
        let error = snapfleetError { _ = try PostgresConnection(conninfo: Redacted("host=x password hunter2")) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test("a statement can be cancelled from another thread")
    func cancelFromAnotherThread() async throws {
        let connection = try connect()
        let handle = connection.cancelHandle
        let started = ContinuousClock.now
        let canceller = Thread {
            Thread.sleep(forTimeInterval: 0.5)
            handle.requestCancel()
        }
        canceller.start()
        let error = snapfleetError { try connection.query("SELECT pg_sleep(30)") }
        #expect(error?.code == .postgresError)
        #expect(error?.message.hasSuffix("(SQLSTATE 57014)") == true)
        #expect(error?.retryable == true)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try connection.query("SELECT 1") == [["1"]])
    }

    @Test("knows its backend and server version")
    func sessionFacts() throws {
        let connection = try connect()
        #expect(try connection.query("SELECT pg_backend_pid()") == [[String(connection.backendPID)]])
        #expect(connection.serverVersionNumber >= 150_000)
        #expect(connection.parameterStatus("server_version")?.hasPrefix("15") == true)
        #expect(connection.parameterStatus("no_such_parameter") == nil)
    }

    @Test("notices a terminated session: isAlive turns false and queries fail with postgres_unavailable")
    func terminatedSession() async throws {
        let connection = try connect()
        #expect(connection.isAlive)
        try cluster.psql("SELECT pg_terminate_backend(\(connection.backendPID))")
        #expect(await eventually { !connection.isAlive })
        let error = snapfleetError { try connection.query("SELECT 1") }
        #expect(error?.code == .postgresUnavailable)
        #expect(error?.retryable == true)
    }

    @Test("sets application_name from the fallback unless the conninfo names one")
    func applicationName() throws {
        let name = uniqueName("app")
        let connection = try connect(name)
        #expect(try connection.query("SHOW application_name") == [[name]])
        let explicit = try PostgresConnection(
            conninfo: Redacted(cluster.conninfo + " application_name=explicit"), applicationName: name)
        #expect(try explicit.query("SHOW application_name") == [["explicit"]])
    }
}
