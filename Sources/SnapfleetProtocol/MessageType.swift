/// Every message type of the snapfleet protocol: a closed set, dispatched on by `switch`.
///
/// A type name taken from a message is only ever used to pick a case here; nothing is
/// looked up by name at run time (the SaltStack lesson in STYLE.md).
public enum MessageType: String, Codable, Sendable, CaseIterable {
    /// Agent → controller request: who I am and what PostgreSQL looks like.
    case hello
    /// Controller → agent reply to `hello`.
    case helloAck = "hello_ack"
    /// Either direction, notification: I am alive.
    case heartbeat
    /// Reply: the request failed.
    case error
    /// Controller → agent request: start a non-exclusive backup under a lease.
    case backupStart = "backup_start"
    /// Controller → agent request: extend a running backup's lease.
    case backupRenew = "backup_renew"
    /// Controller → agent request: stop the backup and return its label.
    case backupStop = "backup_stop"
    /// Controller → agent request: end the backup without a result.
    case backupAbort = "backup_abort"
    /// Controller → agent request: report a backup's state.
    case backupStatus = "backup_status"
    /// Agent → controller reply: a backup's state.
    case backupState = "backup_state"
    /// Agent → controller reply to `backup_stop`: the stop result.
    case backupStopped = "backup_stopped"
    /// Agent → controller notification: a lease ran out and the agent ended the backup.
    case backupLeaseExpired = "backup_lease_expired"
    /// Controller → agent request: resolve disks to local devices and map PostgreSQL's directories.
    case diskMap = "disk_map"
    /// Agent → controller reply to `disk_map`.
    case diskMapResult = "disk_map_result"
    /// Operator → controller request on the admin socket: run a server's pre-flight checks.
    case checkServer = "check_server"
    /// Controller → operator reply to `check_server`.
    case checkReport = "check_report"
    /// Operator → controller request on the admin socket: take a backup now.
    case backupRun = "backup_run"
    /// Controller → operator reply to `backup_run`.
    case backupResult = "backup_result"
    /// Controller → operator notification while `backup_run` waits: where the backup stands.
    case backupProgress = "backup_progress"
    /// Operator → controller request on the admin socket: list the fleet's agents.
    case agentsList = "agents_list"
    /// Controller → operator reply to `agents_list`.
    case agents
    /// Agent → controller: presigned URLs for these WAL files.
    case walURLsRequest = "wal_urls_request"
    /// Controller → agent: the answer to `wal_urls_request`.
    case walURLs = "wal_urls"
    /// Agent → controller: one WAL file's bytes, for a destination the controller writes.
    case walPut = "wal_put"
    /// Controller → agent (and agent → `wal-push`): the file is durable in the archive.
    case walStored = "wal_stored"
    /// Agent → controller: one WAL file's bytes, from a destination the controller reads.
    case walGet = "wal_get"
    /// The answer to `wal_get` and `wal_fetch`, with the bytes attached when found.
    case walData = "wal_data"
    /// `wal-push` → agent: archive this file of `pg_wal`.
    case walPush = "wal_push"
    /// `wal-fetch` → agent: this WAL file from the archive, decompressed.
    case walFetch = "wal_fetch"
    /// Operator → controller: restore a backup onto a recovery server.
    case restoreRun = "restore_run"
    /// Controller → operator: the answer to `restore_run`.
    case restoreResult = "restore_result"
    /// Controller → agent: check the recovery host, and prepare the data directory.
    case restorePrepare = "restore_prepare"
    /// Agent → controller: the answer to `restore_prepare`.
    case restoreReport = "restore_report"
    /// Operator → controller: the fleet's state, or one server's, a page at a time.
    case statusRequest = "status_request"
    /// Controller → operator: the answer to `status_request`.
    case statusReport = "status_report"
    /// Agent → controller: how its WAL archiving stands.
    case walArchiving = "wal_archiving"

    /// Whether a message of this type is a request, a reply or a notification.
    public var kind: Kind {
        switch self {
        case .hello, .backupStart, .backupRenew, .backupStop, .backupAbort, .backupStatus, .diskMap, .agentsList, .checkServer, .backupRun,
            .walURLsRequest, .walPut, .walGet, .walPush, .walFetch, .restoreRun, .restorePrepare, .statusRequest:
            return .request
        case .helloAck, .error, .backupState, .backupStopped, .diskMapResult, .agents, .checkReport, .backupResult, .walURLs, .walStored,
            .walData, .restoreResult, .restoreReport, .statusReport:
            return .reply
        case .heartbeat, .backupLeaseExpired, .backupProgress, .walArchiving:
            return .notification
        }
    }

    /// Who may send a message of this type.
    public var sender: Sender {
        switch self {
        case .hello, .backupState, .backupStopped, .backupLeaseExpired, .diskMapResult, .walURLsRequest, .walPut, .walGet, .restoreReport,
            .walArchiving:
            return .agent
        case .helloAck, .backupStart, .backupRenew, .backupStop, .backupAbort, .backupStatus, .diskMap, .agents, .checkReport, .backupResult,
            .backupProgress, .walURLs, .restoreResult, .restorePrepare, .statusReport:
            return .controller
        case .agentsList, .checkServer, .backupRun, .restoreRun, .statusRequest: return .operator
        case .walPush, .walFetch: return .walClient
        case .heartbeat, .error, .walStored, .walData: return .anyone
        }
    }

    /// The three shapes of message.
    public enum Kind: Sendable {
        /// Expects exactly one reply (`in_reply_to` = its id).
        case request
        /// Answers a request.
        case reply
        /// Expects no reply.
        case notification
    }

    /// The party that may send a message.
    public enum Sender: Sendable {
        /// A snapfleet-agent over the CURVE connection.
        case agent
        /// The snapfleet-controller.
        case controller
        /// An operator command over the controller's admin socket.
        case `operator`
        /// `snapfleet-agent wal-push`/`wal-fetch` (PostgreSQL's archive and restore commands) over the agent's local socket.
        case walClient
        /// Any party.
        case anyone
    }
}
