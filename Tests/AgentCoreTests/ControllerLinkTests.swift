import AgentCore
import Foundation
import SnapfleetCore
import SnapfleetProtocol
import Testing

/// Transcripts: the clock and the controller's answers in, the messages to send out.
@Suite("ControllerLink: hello, heartbeats, silence and back-off as a transcript")
struct ControllerLinkTests {
    let t0 = Date(timeIntervalSince1970: 1_764_106_200)

    func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    /// An acknowledgement with a two-second heartbeat interval.
    let ack = HelloAck(server: "pg1", controllerVersion: "0.1.0", heartbeatIntervalMs: 2000)

    /// A link that has said hello at t0 and been accepted at t0 + 0.1 s.
    func acceptedLink() -> ControllerLink {
        var link = ControllerLink(now: t0)
        _ = link.tick(now: t0)
        link.accepted(ack, now: at(0.1))
        return link
    }

    @Test("a new link says hello first, once, and then waits for the answer")
    func helloFirst() {
        var link = ControllerLink(now: t0)
        #expect(link.phase == .helloDue(at: t0))
        #expect(!link.isAccepted)
        #expect(link.tick(now: t0) == [.sendHello])
        #expect(link.phase == .awaitingAck)
        #expect(link.tick(now: at(1)) == [])
        #expect(link.tick(now: at(60)) == [], "no heartbeat and no second hello while the first is unanswered")
    }

    @Test("after the ack, a heartbeat goes out every interval")
    func heartbeatsAfterAck() {
        var link = acceptedLink()
        #expect(link.isAccepted)
        #expect(link.phase == .accepted(server: "pg1"))
        #expect(link.tick(now: at(1)) == [])
        #expect(link.tick(now: at(2.0)) == [])
        #expect(link.tick(now: at(2.1)) == [.sendHeartbeat])
        #expect(link.tick(now: at(3)) == [])
        link.heard(now: at(3.5))
        #expect(link.tick(now: at(4.1)) == [.sendHeartbeat])
        #expect(link.tick(now: at(4.2)) == [])
        link.heard(now: at(5))
        #expect(link.tick(now: at(6.1)) == [.sendHeartbeat])
        #expect(link.phase == .accepted(server: "pg1"))
    }

    @Test("the interval comes from the ack")
    func intervalFromAck() {
        var link = ControllerLink(now: t0)
        _ = link.tick(now: t0)
        link.accepted(HelloAck(server: "pg1", controllerVersion: "0.1.0", heartbeatIntervalMs: 500), now: t0)
        #expect(link.tick(now: at(0.4)) == [])
        #expect(link.tick(now: at(0.5)) == [.sendHeartbeat])
        link.heard(now: at(0.9))
        #expect(link.tick(now: at(1.0)) == [.sendHeartbeat])
    }

    @Test("a controller silent for more than three intervals gets a new hello")
    func silenceMeansHello() {
        var link = acceptedLink()
        // Heard last at 0.1 (the ack); the interval is 2 s, so the limit is 6 s.
        #expect(link.tick(now: at(2.1)) == [.sendHeartbeat])
        #expect(link.tick(now: at(4.1)) == [.sendHeartbeat])
        #expect(link.tick(now: at(6.1)) == [.sendHeartbeat], "exactly three intervals is not yet silence")
        #expect(link.tick(now: at(6.2)) == [.sendHello])
        #expect(link.phase == .awaitingAck)
        #expect(!link.isAccepted)
        #expect(link.tick(now: at(8.2)) == [], "no heartbeats while the new hello is unanswered")
    }

    @Test("hearing from the controller holds off the silence limit")
    func hearingKeepsLinkUp() {
        var link = acceptedLink()
        for second in stride(from: 1.0, through: 30.0, by: 1.0) {
            link.heard(now: at(second))
            #expect(!link.tick(now: at(second + 0.5)).contains(.sendHello))
        }
        #expect(link.isAccepted)
    }

    @Test("failed hellos back off 1, 2, 4, 8, 16, then 30 s at most")
    func backoffDoubles() {
        var link = ControllerLink(now: t0)
        var now = t0
        let transient = SnapfleetError(.timeout, "no reply to hello in time", retryable: true)
        for expected in [1.0, 2, 4, 8, 16, 30, 30, 30] as [TimeInterval] {
            #expect(link.tick(now: now) == [.sendHello])
            link.helloFailed(transient, now: now)
            #expect(link.phase == .helloDue(at: now.addingTimeInterval(expected)))
            #expect(link.tick(now: now.addingTimeInterval(expected - 0.01)) == [], "not before the back-off")
            now = now.addingTimeInterval(expected)
        }
        #expect(link.tick(now: now) == [.sendHello])
    }

    @Test("a refused key waits 30 s, even the first time")
    func notAuthorizedWaits() {
        var link = ControllerLink(now: t0)
        _ = link.tick(now: t0)
        link.helloFailed(SnapfleetError(.notAuthorized, "connection has no authorized agent key"), now: at(1))
        #expect(link.phase == .helloDue(at: at(31)))
        #expect(link.tick(now: at(30.9)) == [])
        #expect(link.tick(now: at(31)) == [.sendHello])
    }

    @Test("an ack resets the back-off")
    func ackResetsBackoff() {
        var link = ControllerLink(now: t0)
        let transient = SnapfleetError(.timeout, "no reply to hello in time", retryable: true)
        _ = link.tick(now: t0)
        link.helloFailed(transient, now: t0)
        _ = link.tick(now: at(1))
        link.helloFailed(transient, now: at(1))
        _ = link.tick(now: at(3))
        link.accepted(ack, now: at(3.1))
        #expect(link.tick(now: at(20)) == [.sendHello])
        link.helloFailed(transient, now: at(20))
        #expect(link.phase == .helloDue(at: at(21)))
    }

    @Test("hello_required brings a hello, but not a second one while it is awaited")
    func helloRequired() {
        var link = acceptedLink()
        #expect(link.helloRequired(now: at(1)) == [.sendHello])
        #expect(link.phase == .awaitingAck)
        #expect(link.helloRequired(now: at(1.1)) == [])
        #expect(link.tick(now: at(3)) == [])
        link.accepted(ack, now: at(3))
        #expect(link.isAccepted)
    }

    @Test("changed facts are told with a new hello only when the controller has accepted the agent")
    func factsChanged() {
        var link = ControllerLink(now: t0)
        #expect(link.factsChanged() == [], "before the first hello")
        #expect(link.phase == .helloDue(at: t0))
        _ = link.tick(now: t0)
        #expect(link.factsChanged() == [], "while a hello is awaited")
        #expect(link.phase == .awaitingAck)
        link.accepted(ack, now: at(1))
        #expect(link.factsChanged() == [.sendHello])
        #expect(link.phase == .awaitingAck)
        #expect(link.factsChanged() == [])
    }
}
