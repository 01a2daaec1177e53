import PostgresBackup
import SnapfleetCore
import SnapfleetProtocol

/// Reads PostgreSQL's facts for the hello, turning "PostgreSQL is down" into a report, not an error.
public struct PostgresProbe: Sendable {
    private let conninfo: Redacted<String>

    /// A probe for the server at `conninfo`.
    public init(conninfo: Redacted<String>) { self.conninfo = conninfo }

    /// Connects, reads the facts and disconnects (a few milliseconds when PostgreSQL is up).
    public func facts() throws(SnapfleetError) -> ServerFacts {
        do {
            let connection = try PostgresConnection(conninfo: conninfo, connectTimeout: .seconds(5), applicationName: "snapfleet-agent")
            return try ServerFacts.read(from: connection)
        } catch let error as SnapfleetError {
            throw error
        } catch {
            throw SnapfleetError(.postgresError, "reading server facts failed")
        }
    }

    /// The facts as the hello reports them, or why they could not be read.
    public func report() -> PostgresReport {
        do { return .up(PostgresFacts(try facts())) } catch { return .down(error.description) }
    }
}

extension PostgresFacts {
    /// The wire form of the facts read from PostgreSQL.
    init(_ facts: ServerFacts) {
        self.init(
            serverVersionNum: facts.versionNumber, serverVersion: facts.version, systemIdentifier: facts.systemIdentifier,
            dataDirectory: facts.dataDirectory,
            tablespaces: facts.tablespaces.map { SnapfleetProtocol.Tablespace(name: $0.name, oid: $0.oid, location: $0.location) },
            walDirectory: facts.walDirectory, walLevel: facts.walLevel, archiveMode: facts.archiveMode,
            archiveCommand: facts.archiveCommand ?? "", walSegmentSize: facts.walSegmentSize, inRecovery: facts.isInRecovery)
    }
}
