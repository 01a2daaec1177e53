import SnapfleetCore

/// A message of the protocol: its type and its typed body, together.
public enum Message: Sendable, Equatable {
    /// See `MessageType.hello`.
    case hello(Hello)
    /// See `MessageType.helloAck`.
    case helloAck(HelloAck)
    /// See `MessageType.heartbeat`.
    case heartbeat
    /// See `MessageType.error`.
    case error(ErrorBody)
    /// See `MessageType.backupStart`.
    case backupStart(BackupStart)
    /// See `MessageType.backupRenew`.
    case backupRenew(BackupRenew)
    /// See `MessageType.backupStop`.
    case backupStop(BackupStop)
    /// See `MessageType.backupAbort`.
    case backupAbort(BackupReference)
    /// See `MessageType.backupStatus`.
    case backupStatus(BackupReference)
    /// See `MessageType.backupState`.
    case backupState(BackupState)
    /// See `MessageType.backupStopped`.
    case backupStopped(BackupStopped)
    /// See `MessageType.backupLeaseExpired`.
    case backupLeaseExpired(BackupLeaseExpired)
    /// See `MessageType.diskMap`.
    case diskMap(DiskMapRequest)
    /// See `MessageType.diskMapResult`.
    case diskMapResult(DiskMapResult)
    /// See `MessageType.checkServer`.
    case checkServer(CheckServer)
    /// See `MessageType.checkReport`.
    case checkReport(CheckReport)
    /// See `MessageType.backupRun`.
    case backupRun(BackupRunRequest)
    /// See `MessageType.backupResult`.
    case backupResult(BackupRunOutcome)
    /// See `MessageType.backupProgress`.
    case backupProgress(BackupProgress)
    /// See `MessageType.agentsList`.
    case agentsList(AgentsListRequest)
    /// See `MessageType.agents`.
    case agents(AgentsList)
    /// See `MessageType.walURLsRequest`.
    case walURLsRequest(WALURLsRequest)
    /// See `MessageType.walURLs`.
    case walURLs(WALURLs)
    /// See `MessageType.walPut`.
    case walPut(WALPut)
    /// See `MessageType.walStored`.
    case walStored(WALStored)
    /// See `MessageType.walGet`.
    case walGet(WALFileRequest)
    /// See `MessageType.walData`.
    case walData(WALData)
    /// See `MessageType.walPush`.
    case walPush(WALPush)
    /// See `MessageType.walFetch`.
    case walFetch(WALFileRequest)
    /// See `MessageType.restoreRun`.
    case restoreRun(RestoreRunRequest)
    /// See `MessageType.restoreResult`.
    case restoreResult(RestoreRunOutcome)
    /// See `MessageType.statusRequest`.
    case statusRequest(StatusRequest)
    /// See `MessageType.statusReport`.
    case statusReport(StatusReport)
    /// See `MessageType.restorePrepare`.
    case restorePrepare(RestorePrepare)
    /// See `MessageType.restoreReport`.
    case restoreReport(RestoreReport)
    /// See `MessageType.walArchiving`.
    case walArchiving(WALArchivingReport)

    /// The message's type.
    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .helloAck: .helloAck
        case .heartbeat: .heartbeat
        case .error: .error
        case .backupStart: .backupStart
        case .backupRenew: .backupRenew
        case .backupStop: .backupStop
        case .backupAbort: .backupAbort
        case .backupStatus: .backupStatus
        case .backupState: .backupState
        case .backupStopped: .backupStopped
        case .backupLeaseExpired: .backupLeaseExpired
        case .diskMap: .diskMap
        case .diskMapResult: .diskMapResult
        case .checkServer: .checkServer
        case .checkReport: .checkReport
        case .backupRun: .backupRun
        case .backupResult: .backupResult
        case .backupProgress: .backupProgress
        case .agentsList: .agentsList
        case .agents: .agents
        case .walURLsRequest: .walURLsRequest
        case .walURLs: .walURLs
        case .walPut: .walPut
        case .walStored: .walStored
        case .walGet: .walGet
        case .walData: .walData
        case .walPush: .walPush
        case .walFetch: .walFetch
        case .restoreRun: .restoreRun
        case .restoreResult: .restoreResult
        case .statusRequest: .statusRequest
        case .statusReport: .statusReport
        case .restorePrepare: .restorePrepare
        case .restoreReport: .restoreReport
        case .walArchiving: .walArchiving
        }
    }

    /// The body, for encoding.
    var body: any WireBody {
        switch self {
        case .hello(let body): body
        case .helloAck(let body): body
        case .heartbeat: EmptyBody()
        case .agentsList(let body): body
        case .error(let body): body
        case .backupStart(let body): body
        case .backupRenew(let body): body
        case .backupStop(let body): body
        case .backupAbort(let body), .backupStatus(let body): body
        case .backupState(let body): body
        case .backupStopped(let body): body
        case .backupLeaseExpired(let body): body
        case .diskMap(let body): body
        case .diskMapResult(let body): body
        case .checkServer(let body): body
        case .checkReport(let body): body
        case .backupRun(let body): body
        case .backupResult(let body): body
        case .backupProgress(let body): body
        case .agents(let body): body
        case .walURLsRequest(let body): body
        case .walURLs(let body): body
        case .walPut(let body): body
        case .walStored(let body): body
        case .walGet(let body), .walFetch(let body): body
        case .walData(let body): body
        case .walPush(let body): body
        case .restoreRun(let body): body
        case .restoreResult(let body): body
        case .statusRequest(let body): body
        case .statusReport(let body): body
        case .restorePrepare(let body): body
        case .restoreReport(let body): body
        case .walArchiving(let body): body
        }
    }

    /// Decodes the body of a message of `type`; the one place a type picks a body.
    static func decode(_ type: MessageType, body: BodyDecoder) throws(SnapfleetError) -> Message {
        switch type {
        case .hello: .hello(try body.decode(Hello.self))
        case .helloAck: .helloAck(try body.decode(HelloAck.self))
        case .heartbeat: try body.decode(EmptyBody.self).asMessage(.heartbeat)
        case .error: .error(try body.decode(ErrorBody.self))
        case .backupStart: .backupStart(try body.decode(BackupStart.self))
        case .backupRenew: .backupRenew(try body.decode(BackupRenew.self))
        case .backupStop: .backupStop(try body.decode(BackupStop.self))
        case .backupAbort: .backupAbort(try body.decode(BackupReference.self))
        case .backupStatus: .backupStatus(try body.decode(BackupReference.self))
        case .backupState: .backupState(try body.decode(BackupState.self))
        case .backupStopped: .backupStopped(try body.decode(BackupStopped.self))
        case .backupLeaseExpired: .backupLeaseExpired(try body.decode(BackupLeaseExpired.self))
        case .diskMap: .diskMap(try body.decode(DiskMapRequest.self))
        case .diskMapResult: .diskMapResult(try body.decode(DiskMapResult.self))
        case .checkServer: .checkServer(try body.decode(CheckServer.self))
        case .checkReport: .checkReport(try body.decode(CheckReport.self))
        case .backupRun: .backupRun(try body.decode(BackupRunRequest.self))
        case .backupResult: .backupResult(try body.decode(BackupRunOutcome.self))
        case .backupProgress: .backupProgress(try body.decode(BackupProgress.self))
        case .agentsList: .agentsList(try body.decode(AgentsListRequest.self))
        case .agents: .agents(try body.decode(AgentsList.self))
        case .walURLsRequest: .walURLsRequest(try body.decode(WALURLsRequest.self))
        case .walURLs: .walURLs(try body.decode(WALURLs.self))
        case .walPut: .walPut(try body.decode(WALPut.self))
        case .walStored: .walStored(try body.decode(WALStored.self))
        case .walGet: .walGet(try body.decode(WALFileRequest.self))
        case .walData: .walData(try body.decode(WALData.self))
        case .walPush: .walPush(try body.decode(WALPush.self))
        case .walFetch: .walFetch(try body.decode(WALFileRequest.self))
        case .restoreRun: .restoreRun(try body.decode(RestoreRunRequest.self))
        case .restoreResult: .restoreResult(try body.decode(RestoreRunOutcome.self))
        case .statusRequest: .statusRequest(try body.decode(StatusRequest.self))
        case .statusReport: .statusReport(try body.decode(StatusReport.self))
        case .restorePrepare: .restorePrepare(try body.decode(RestorePrepare.self))
        case .restoreReport: .restoreReport(try body.decode(RestoreReport.self))
        case .walArchiving: .walArchiving(try body.decode(WALArchivingReport.self))
        }
    }
}

extension EmptyBody {
    /// The body-less message this empty body belongs to.
    fileprivate func asMessage(_ message: Message) -> Message { message }
}
