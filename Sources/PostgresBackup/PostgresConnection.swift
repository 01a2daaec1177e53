import CPostgres
import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq session to PostgreSQL; every statement autocommits.
///
/// Not shared across threads: use it from one thread or serial queue at a time. Only
/// `cancelHandle` may be used elsewhere.
public final class PostgresConnection {
    private let connection: OpaquePointer
    private let scrubber: SecretScrubber

    /// Interrupts this connection's running statement from another thread.
    public let cancelHandle: PostgresCancelHandle

    /// Connects; throws `.postgresUnavailable` (retryable) when the server cannot be reached.
    ///
    /// `applicationName` is a fallback: an `application_name` in the conninfo wins.
    public init(
        conninfo: Redacted<String>, connectTimeout: Duration = .seconds(10), applicationName: String = "snapfleet"
    ) throws {
        scrubber = try Conninfo.scrubber(for: conninfo)
        // libpq takes whole seconds; round up so a short timeout does not become "wait forever" (0).
        let seconds = max(1, (connectTimeout.wholeMilliseconds + 999) / 1000)
        // The conninfo is expanded from "dbname"; keywords after it override it, those before it do not.
        let parameters = [
            ("fallback_application_name", applicationName),
            ("dbname", conninfo.value),
            ("connect_timeout", String(seconds)),
        ]
        connection = try Self.open(parameters, scrubber: scrubber)
        // libpq's default notice processor prints NOTICEs and WARNINGs (pg_backup_stop sends some)
        // to standard error; a daemon must not write stray lines there.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        guard let cancel = PQgetCancel(connection) else {
            PQfinish(connection)
            throw SnapfleetError(.internalError, "libpq could not prepare a cancel request")
        }
        cancelHandle = PostgresCancelHandle(cancel)
    }

    deinit { PQfinish(connection) }

    /// The server's `server_version_num` as libpq saw it at connect time (e.g. 150004).
    public var serverVersionNumber: Int { Int(PQserverVersion(connection)) }

    /// A parameter the server reported at connect time (`server_version`, `TimeZone`, …).
    public func parameterStatus(_ name: String) -> String? {
        PQparameterStatus(connection, name).map { String(cString: $0) }
    }

    /// The process id of the server backend serving this session.
    public var backendPID: Int32 { PQbackendPID(connection) }

    /// Whether the session is still usable; call it between statements, never during one.
    ///
    /// It reads whatever the server sent without waiting (libpq's socket is non-blocking). A server
    /// that ends a session (shutdown, `pg_terminate_backend`) sends an error and then closes; libpq
    /// notices the close only on the read after the one that got the error, so it reads for as
    /// long as the socket has something to give.
    public var isAlive: Bool {
        for _ in 0..<8 {
            guard PQstatus(connection) == CONNECTION_OK, PQconsumeInput(connection) == 1,
                PQstatus(connection) == CONNECTION_OK
            else { return false }
            guard socketIsReadable else { return true }
        }
        return PQstatus(connection) == CONNECTION_OK
    }

    /// Whether a read would return data or end-of-file right now.
    private var socketIsReadable: Bool {
        var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …; nil is SQL NULL) and returns its rows as text.
    ///
    /// Throws `.postgresError` with the primary message and SQLSTATE, or `.postgresUnavailable` when
    /// the session is gone. The SQL text never appears in an error.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        let result = execute(sql, parameters)
        defer { PQclear(result) }
        guard let result else { throw clientError() }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result)
        default:
            throw resultError(result)
        }
    }

    /// Sends the statement and waits for its result (nil only when libpq could not send it at all).
    private func execute(_ sql: String, _ parameters: [String?]) -> OpaquePointer? {
        let values = parameters.map { $0.flatMap { strdup($0) } }
        defer { values.forEach { free($0) } }
        let pointers = values.map { UnsafePointer<CChar>($0) }
        return PQexecParams(connection, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
    }

    /// Copies every cell of a result as text.
    private static func rows(of result: OpaquePointer) -> [[String?]] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        return (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            }
        }
    }

    /// The server's error from a failed result; client-side failures carry no SQLSTATE.
    private func resultError(_ result: OpaquePointer) -> SnapfleetError {
        guard let state = PQresultErrorField(result, Self.sqlStateField) else {
            return clientError(message: PQresultErrorMessage(result))
        }
        let primary = PQresultErrorField(result, Self.primaryMessageField).map { String(cString: $0) } ?? "unknown error"
        return PostgresErrorMapping.serverError(sqlState: String(cString: state), primaryMessage: scrubber.scrub(primary))
    }

    /// A failure libpq reported about the connection rather than the statement.
    private func clientError(message: UnsafePointer<CChar>? = nil) -> SnapfleetError {
        let text = String(cString: message ?? UnsafePointer(PQerrorMessage(connection)))
        return PostgresErrorMapping.clientError(
            message: scrubber.scrub(text), connectionBroken: PQstatus(connection) != CONNECTION_OK)
    }

    /// `PG_DIAG_SQLSTATE` is a character-literal macro (`'C'`), which Swift does not import.
    private static let sqlStateField = Int32(UInt8(ascii: "C"))
    /// `PG_DIAG_MESSAGE_PRIMARY` (`'M'`), for the same reason.
    private static let primaryMessageField = Int32(UInt8(ascii: "M"))

    /// `PQconnectdbParams` with `expand_dbname`, freeing the connection object when it fails.
    private static func open(_ parameters: [(String, String)], scrubber: SecretScrubber) throws -> OpaquePointer {
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer { (keywords + values).forEach { free($0) } }
        let keywordList = keywords.map { UnsafePointer<CChar>($0) } + [nil]
        let valueList = values.map { UnsafePointer<CChar>($0) } + [nil]
        guard let connection = PQconnectdbParams(keywordList, valueList, 1) else {
            throw PostgresErrorMapping.connectFailed(message: "out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = scrubber.scrub(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresErrorMapping.connectFailed(message: message)
        }
        return connection
    }
}
