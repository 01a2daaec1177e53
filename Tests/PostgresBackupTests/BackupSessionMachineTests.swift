import PostgresBackup
import SnapfleetCore
import Testing

/// Transcripts: each step feeds one event and states exactly the actions that must come out.
@Suite("BackupSessionMachine")
struct BackupSessionMachineTests {
    typealias Machine = BackupSessionMachine
    let t0 = ContinuousClock.now
    let startInfo = BackupStartInfo(
        lsn: LSN(rawValue: 0x3_A200_0028), walFileName: WALFileName("0000000100000003000000A2")!, timeline: 1,
        time: "2024-03-15T02:15:01.123456+00:00")
    let stopInfo = BackupStopInfo(
        lsn: LSN(rawValue: 0x3_A300_0100), walFileName: WALFileName("0000000100000003000000A3")!, timeline: 1,
        backupLabel: "START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\n", tablespaceMap: "",
        time: "2024-03-15T02:15:09.000001+00:00")

    func startRequest(_ id: String = "b1", lease: Duration = .seconds(10), at offset: Duration = .zero) -> Machine.StartRequest {
        .init(backupID: id, label: "label \(id)", fastCheckpoint: true, lease: lease, now: t0 + offset)
    }

    /// A machine with backup b1 running under a 10 s lease taken at t0.
    func running() -> Machine {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest()))
        _ = machine.handle(.startSucceeded(backupID: "b1", startInfo))
        return machine
    }

    func state(_ machine: Machine, _ id: String = "b1") throws -> BackupState {
        try machine.state(of: id).get()
    }

    func error(_ action: Machine.Action?) -> SnapfleetError? {
        guard case .reply(_, .failure(let error)) = action else { return nil }
        return error
    }

    @Test("start calls pg_backup_start once and replies running when it returns")
    func startTranscript() throws {
        var machine = Machine()
        #expect(
            machine.handle(.startRequested(1, startRequest())) == [
                .callStart(backupID: "b1", label: "label b1", fastCheckpoint: true)
            ])
        #expect(try state(machine).phase == .starting)
        let actions = machine.handle(.startSucceeded(backupID: "b1", startInfo))
        let expected = BackupState(
            backupID: "b1", label: "label b1", phase: .running, start: startInfo, leaseDeadline: t0 + .seconds(10))
        #expect(actions == [.reply(1, .success(expected))])
        #expect(try state(machine) == expected)
    }

    @Test("a repeated start of the same backup answers with its state and never calls start again")
    func repeatedStart() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest()))
        #expect(machine.handle(.startRequested(2, startRequest())) == [.reply(2, .success(try state(machine)))])
        #expect(try state(machine).phase == .starting)
        _ = machine.handle(.startSucceeded(backupID: "b1", startInfo))
        #expect(machine.handle(.startRequested(3, startRequest())) == [.reply(3, .success(try state(machine)))])
        #expect(try state(machine).phase == .running)
    }

    @Test("a start of another backup while one is starting or running is refused as backup_in_progress, retryable")
    func otherBackupInProgress() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest()))
        let whileStarting = machine.handle(.startRequested(2, startRequest("b2")))
        #expect(whileStarting.count == 1)
        #expect(error(whileStarting.first)?.code == .backupInProgress)
        #expect(error(whileStarting.first)?.message == "backup b1 is starting on this server")
        #expect(error(whileStarting.first)?.retryable == true)
        _ = machine.handle(.startSucceeded(backupID: "b1", startInfo))
        let whileRunning = machine.handle(.startRequested(3, startRequest("b2")))
        #expect(error(whileRunning.first)?.message == "backup b1 is running on this server")
        #expect(try state(machine).backupID == "b1")
    }

    @Test("renewal postpones lease expiry; expiry ends the session and reports it")
    func leaseRenewal() throws {
        var machine = running()
        #expect(machine.handle(.tick(now: t0 + .seconds(9))) == [])
        let renewed = machine.handle(.renewRequested(2, backupID: "b1", lease: .seconds(10), now: t0 + .seconds(9)))
        #expect(renewed == [.reply(2, .success(try state(machine)))])
        #expect(try state(machine).leaseDeadline == t0 + .seconds(19))
        #expect(machine.handle(.tick(now: t0 + .seconds(12))) == [], "the old deadline has no effect")
        #expect(machine.handle(.tick(now: t0 + .seconds(18.9))) == [])
        #expect(
            machine.handle(.tick(now: t0 + .seconds(19))) == [
                .endSession(backupID: "b1"), .reportLeaseExpired(backupID: "b1"),
            ])
        #expect(try state(machine).phase == .leaseExpired)
        #expect(try state(machine).leaseDeadline == nil)
        #expect(machine.handle(.tick(now: t0 + .seconds(30))) == [], "expiry is reported once")
    }

    @Test("a renew while pg_backup_start runs extends the lease, so a long checkpoint outlives the first lease")
    func renewWhileStarting() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest(lease: .seconds(4))))
        let renewed = machine.handle(.renewRequested(2, backupID: "b1", lease: .seconds(4), now: t0 + .seconds(3)))
        #expect(renewed == [.reply(2, .success(try state(machine)))])
        #expect(try state(machine).phase == .starting)
        #expect(machine.handle(.tick(now: t0 + .seconds(5))) == [], "the renewed lease runs to t0 + 7 s")
        #expect(machine.handle(.startSucceeded(backupID: "b1", startInfo)).count == 1, "the start's waiter is answered")
        #expect(try state(machine).phase == .running)
    }

    @Test("a lease that expires during pg_backup_start cancels it and fails the waiting start")
    func expiryWhileStarting() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest(lease: .seconds(2))))
        let actions = machine.handle(.tick(now: t0 + .seconds(2)))
        #expect(actions.count == 4)
        #expect(actions[0] == .cancelCall(backupID: "b1"))
        #expect(actions[1] == .endSession(backupID: "b1"))
        #expect(error(actions[2])?.code == .backupNotRunning)
        #expect(error(actions[2])?.message == "backup b1 is not running (lease_expired)")
        #expect(actions[3] == .reportLeaseExpired(backupID: "b1"))
        #expect(machine.handle(.startSucceeded(backupID: "b1", startInfo)) == [], "a late start result is stale")
        #expect(try state(machine).phase == .leaseExpired)
    }

    @Test("stop ends the lease, calls pg_backup_stop once, and answers every stop request with the same result")
    func stopTranscript() throws {
        var machine = running()
        #expect(
            machine.handle(.stopRequested(2, backupID: "b1", waitForArchive: true)) == [
                .callStop(backupID: "b1", waitForArchive: true)
            ])
        #expect(try state(machine).phase == .stopping)
        #expect(machine.handle(.stopRequested(3, backupID: "b1", waitForArchive: true)) == [])
        #expect(machine.handle(.tick(now: t0 + .seconds(60))) == [], "no lease while stopping")
        let renewal = machine.handle(.renewRequested(4, backupID: "b1", lease: .seconds(10), now: t0 + .seconds(60)))
        #expect(error(renewal.first)?.code == .backupNotRunning, "PROTOCOL.md §7: a renew while stopping is backup_not_running")
        #expect(error(renewal.first)?.message == "backup b1 is not running (stopping)")
        #expect(try state(machine).leaseDeadline == nil, "the refused renew set no lease")

        let stopped = machine.handle(.stopSucceeded(backupID: "b1", stopInfo))
        let expected = BackupState(backupID: "b1", label: "label b1", phase: .stopped, start: startInfo, stop: stopInfo)
        #expect(stopped == [.closeSession(backupID: "b1"), .reply(2, .success(expected)), .reply(3, .success(expected))])
        #expect(machine.handle(.stopRequested(5, backupID: "b1", waitForArchive: false)) == [.reply(5, .success(expected))])
        #expect(
            error(machine.handle(.renewRequested(6, backupID: "b1", lease: .seconds(1), now: t0)).first)?.code
                == .backupNotRunning)
    }

    @Test("a stop while the backup is still starting is refused, retryable")
    func stopWhileStarting() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest()))
        let actions = machine.handle(.stopRequested(2, backupID: "b1", waitForArchive: true))
        #expect(error(actions.first)?.code == .backupNotRunning)
        #expect(error(actions.first)?.message == "backup b1 is still starting")
        #expect(error(actions.first)?.retryable == true)
    }

    @Test("abort ends the session; a later stop is refused and a repeated abort returns the state")
    func abortTranscript() throws {
        var machine = running()
        let aborted = machine.handle(.abortRequested(2, backupID: "b1"))
        let state = try state(machine)
        #expect(state.phase == .aborted)
        #expect(aborted == [.endSession(backupID: "b1"), .reply(2, .success(state))])
        let stop = machine.handle(.stopRequested(3, backupID: "b1", waitForArchive: true))
        #expect(error(stop.first)?.code == .backupNotRunning)
        #expect(error(stop.first)?.message == "backup b1 is not running (aborted)")
        #expect(error(stop.first)?.retryable == false)
        #expect(machine.handle(.abortRequested(4, backupID: "b1")) == [.reply(4, .success(state))])
        #expect(machine.handle(.startRequested(5, startRequest())) == [.reply(5, .success(state))])
    }

    @Test("abort during pg_backup_start cancels it and fails the waiting start")
    func abortWhileStarting() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest()))
        let actions = machine.handle(.abortRequested(2, backupID: "b1"))
        #expect(actions.count == 4)
        #expect(actions[0] == .cancelCall(backupID: "b1"))
        #expect(actions[1] == .endSession(backupID: "b1"))
        #expect(error(actions[2])?.message == "backup b1 is not running (aborted)")
        #expect(actions[3] == .reply(2, .success(try state(machine))))
        #expect(machine.handle(.startFailed(backupID: "b1", SnapfleetError(.postgresError, "cancelled"))) == [])
        #expect(try state(machine).phase == .aborted)
    }

    @Test("requests for an unknown backup are answered with backup_not_found")
    func unknownBackup() throws {
        var machine = running()
        let requests: [Machine.Event] = [
            .renewRequested(2, backupID: "zz", lease: .seconds(1), now: t0),
            .stopRequested(3, backupID: "zz", waitForArchive: true),
            .abortRequested(4, backupID: "zz"),
        ]
        for request in requests {
            let actions = machine.handle(request)
            #expect(actions.count == 1)
            #expect(error(actions.first)?.code == .backupNotFound)
            #expect(error(actions.first)?.message == "no backup zz is known to this agent")
        }
        #expect(throws: SnapfleetError.self) { try machine.state(of: "zz").get() }
        #expect(Machine().state(of: "b1") == .failure(SnapfleetError(.backupNotFound, "no backup b1 is known to this agent")))
        #expect(try state(machine).phase == .running)
    }

    @Test("a failed start closes the session, fails the request, and may be retried under the same id")
    func failedStart() throws {
        var machine = Machine()
        _ = machine.handle(.startRequested(1, startRequest()))
        let failure = SnapfleetError(.postgresUnavailable, "cannot connect to postgresql: refused", retryable: true)
        #expect(
            machine.handle(.startFailed(backupID: "b1", failure)) == [
                .closeSession(backupID: "b1"), .reply(1, .failure(failure)),
            ])
        #expect(try state(machine).phase == .failed)
        #expect(try state(machine).failure == failure)
        #expect(
            machine.handle(.startRequested(2, startRequest())) == [
                .callStart(backupID: "b1", label: "label b1", fastCheckpoint: true)
            ])
    }

    @Test("a failed stop ends the session and the backup stays failed")
    func failedStop() throws {
        var machine = running()
        _ = machine.handle(.stopRequested(2, backupID: "b1", waitForArchive: true))
        let failure = SnapfleetError(.postgresError, "postgresql error: canceling statement (SQLSTATE 57014)")
        #expect(
            machine.handle(.stopFailed(backupID: "b1", failure)) == [
                .endSession(backupID: "b1"), .reply(2, .failure(failure)),
            ])
        #expect(machine.handle(.startRequested(3, startRequest())) == [.reply(3, .success(try state(machine)))])
        #expect(try state(machine).phase == .failed)
    }

    @Test("a lost session fails the backup; stop is then refused")
    func sessionLost() throws {
        var machine = running()
        let lost = SnapfleetError(.postgresUnavailable, "the postgresql session holding backup b1 was lost")
        #expect(machine.handle(.sessionLost(backupID: "b1", lost)) == [.closeSession(backupID: "b1")])
        #expect(try state(machine).phase == .failed)
        #expect(
            error(machine.handle(.stopRequested(2, backupID: "b1", waitForArchive: true)).first)?.code
                == .backupNotRunning)
        #expect(machine.handle(.tick(now: t0 + .seconds(100))) == [])
    }

    @Test("a new backup may start once the previous one finished, replacing it")
    func nextBackup() throws {
        var machine = running()
        _ = machine.handle(.stopRequested(2, backupID: "b1", waitForArchive: true))
        _ = machine.handle(.stopSucceeded(backupID: "b1", stopInfo))
        #expect(
            machine.handle(.startRequested(3, startRequest("b2"))) == [
                .callStart(backupID: "b2", label: "label b2", fastCheckpoint: true)
            ])
        #expect(try state(machine, "b2").phase == .starting)
        #expect(machine.handle(.stopSucceeded(backupID: "b1", stopInfo)) == [], "events for b1 are stale now")
        #expect(
            error(machine.handle(.stopRequested(4, backupID: "b1", waitForArchive: true)).first)?.code
                == .backupNotFound)
    }
}
