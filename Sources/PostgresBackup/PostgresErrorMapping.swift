import SnapfleetCore

/// Maps what PostgreSQL and libpq report to `SnapfleetError`, keeping SQL text and secrets out.
enum PostgresErrorMapping {
    /// An error the server answered with, identified by its SQLSTATE.
    static func serverError(sqlState: String, primaryMessage: String) -> SnapfleetError {
        let text = "\(primaryMessage) (SQLSTATE \(sqlState))"
        if isConnectionLoss(sqlState) {
            return SnapfleetError(.postgresUnavailable, "postgresql ended the session: \(text)", retryable: true)
        }
        return SnapfleetError(
            .postgresError, "postgresql error: \(text)", hint: hint(for: sqlState), retryable: isTransient(sqlState))
    }

    /// A query failed on the client side (no SQLSTATE), usually because the connection broke.
    static func clientError(message: String, connectionBroken: Bool) -> SnapfleetError {
        if connectionBroken {
            return SnapfleetError(.postgresUnavailable, "connection to postgresql lost: \(message)", retryable: true)
        }
        return SnapfleetError(.postgresError, "postgresql client error: \(message)")
    }

    /// The connection could not be opened.
    static func connectFailed(message: String) -> SnapfleetError {
        SnapfleetError(
            .postgresUnavailable, "cannot connect to postgresql: \(message)",
            hint: "check that postgresql is running and that the configured conninfo reaches it", retryable: true)
    }

    /// Class 08 (connection exception) and the shutdown codes: the session is gone, a new one may work.
    private static func isConnectionLoss(_ sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// Serialization failures, lack of resources, lock timeouts and cancels can succeed when tried again.
    private static func isTransient(_ sqlState: String) -> Bool {
        sqlState.hasPrefix("40") || sqlState.hasPrefix("53") || ["55P03", "57014"].contains(sqlState)
    }

    /// What the operator can do about the errors a backup role commonly meets.
    private static func hint(for sqlState: String) -> String? {
        switch sqlState {
        case "42501":
            "the backup role needs execute rights on the backup functions and pg_read_all_settings"
        default:
            nil
        }
    }
}
