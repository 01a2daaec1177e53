import SnapfleetCore
import SnapfleetProtocol
import Synchronization
import Testing

@testable import ControllerCore

/// `backup_stop` asked again when its request or reply was lost with a dropped connection.
@Suite("BackupRunner asks backup_stop again")
struct BackupRunnerStopTests {
    let stop = Message.backupStop(BackupStop(backupID: "20261207T102408", waitForArchive: true))
    /// Any message stands for the agent's reply here.
    let stopped = Message.agentsList(AgentsListRequest(after: "pg1"))

    @Test("a timeout and a reconnection are asked again; the reply to a later ask is the answer")
    func asksAgain() async throws {
        let asked = Mutex(0)
        let reply = stopped
        let answer = try await BackupRunner.askRepeatedly(stop, every: .milliseconds(20), for: .seconds(5), reconnectGrace: .seconds(5)) {
            message, _ throws(SnapfleetError) in
            let attempt = asked.withLock { count in
                count += 1
                return count
            }
            switch attempt {
            case 1: throw SnapfleetError(.timeout, "no reply to backup_stop in time", retryable: true)
            case 2: throw SnapfleetError(.agentNotConnected, "the agent reconnected", retryable: true)
            default: return reply
            }
        }
        #expect(answer == stopped)
        #expect(asked.withLock { $0 } == 3)
    }

    @Test("an error reply is not asked again, and asking ends at the limit")
    func givesUp() async {
        let refused = await #expect(throws: SnapfleetError.self) {
            try await BackupRunner.askRepeatedly(self.stop, every: .milliseconds(10), for: .seconds(5), reconnectGrace: .seconds(5)) {
                _, _ throws(SnapfleetError) in
                throw SnapfleetError(.backupNotRunning, "the backup is not running")
            }
        }
        #expect(refused?.code == .backupNotRunning)
        let started = ContinuousClock.now
        let timedOut = await #expect(throws: SnapfleetError.self) {
            try await BackupRunner.askRepeatedly(self.stop, every: .milliseconds(10), for: .milliseconds(200), reconnectGrace: .seconds(5)) {
                _, _ throws(SnapfleetError) in
                try? await Task.sleep(for: .milliseconds(10))
                throw SnapfleetError(.timeout, "no reply")
            }
        }
        #expect(timedOut?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("an agent that stays away past the grace fails the ask (a killed agent's backup fails as before)")
    func agentGone() async {
        let started = ContinuousClock.now
        let away = await #expect(throws: SnapfleetError.self) {
            try await BackupRunner.askRepeatedly(self.stop, every: .milliseconds(100), for: .seconds(30), reconnectGrace: .milliseconds(300)) {
                _, _ throws(SnapfleetError) in
                throw SnapfleetError(.agentNotConnected, "no agent is connected for this server", retryable: true)
            }
        }
        #expect(away?.code == .agentNotConnected)
        #expect(ContinuousClock.now - started < .seconds(3))
    }
}
