import Foundation
import SnapfleetCore
import SnapfleetProtocol

/// The agent's side of its relationship with the controller, as a state machine.
///
/// No I/O: the agent feeds it the clock and what the controller said, and it answers
/// with what to send. It says hello first, heartbeats once accepted, and says hello again
/// when the controller asks (`hello_required`), goes silent, or PostgreSQL's facts change.
public struct ControllerLink: Sendable {
    /// What the link wants sent.
    public enum Action: Sendable, Equatable {
        /// Send a hello with the current facts.
        case sendHello
        /// Send a heartbeat.
        case sendHeartbeat
    }

    /// Where the link stands.
    public enum Phase: Sendable, Equatable {
        /// A hello is due at the given time (now, or after a back-off).
        case helloDue(at: Date)
        /// A hello was sent and its answer is awaited.
        case awaitingAck
        /// The controller accepted the agent for `server`.
        case accepted(server: String)
    }

    /// The current phase.
    public private(set) var phase: Phase
    private var heartbeatInterval: TimeInterval = 5
    private var lastHeard: Date
    private var lastHeartbeatSent: Date
    private var failures = 0

    /// A new link that says hello right away.
    public init(now: Date) {
        phase = .helloDue(at: now)
        lastHeard = now
        lastHeartbeatSent = now
    }

    /// Whether the controller has accepted the agent.
    public var isAccepted: Bool {
        if case .accepted = phase { return true }
        return false
    }

    /// Called about once a second: says hello when due, heartbeats when accepted, and gives
    /// up on a controller silent for three heartbeat intervals.
    public mutating func tick(now: Date) -> [Action] {
        switch phase {
        case .helloDue(let due) where now >= due:
            phase = .awaitingAck
            return [.sendHello]
        case .accepted where now.timeIntervalSince(lastHeard) > 3 * heartbeatInterval:
            phase = .awaitingAck
            return [.sendHello]
        case .accepted where now.timeIntervalSince(lastHeartbeatSent) >= heartbeatInterval:
            lastHeartbeatSent = now
            return [.sendHeartbeat]
        default:
            return []
        }
    }

    /// Any message from the controller proves it is alive.
    public mutating func heard(now: Date) { lastHeard = now }

    /// The controller accepted the hello.
    public mutating func accepted(_ ack: HelloAck, now: Date) {
        phase = .accepted(server: ack.server)
        heartbeatInterval = TimeInterval(ack.heartbeatIntervalMs) / 1000
        lastHeard = now
        lastHeartbeatSent = now
        failures = 0
    }

    /// The hello failed: retry with a back-off (1, 2, 4 … 30 s); a refusal of the key waits 30 s.
    public mutating func helloFailed(_ error: SnapfleetError, now: Date) {
        failures += 1
        let backoff = error.code == .notAuthorized ? 30 : min(30, pow(2, Double(failures - 1)))
        phase = .helloDue(at: now.addingTimeInterval(backoff))
    }

    /// The controller does not know this connection (it restarted, or it expired the agent).
    public mutating func helloRequired(now: Date) -> [Action] {
        lastHeard = now
        guard phase != .awaitingAck else { return [] }
        phase = .awaitingAck
        return [.sendHello]
    }

    /// PostgreSQL's facts changed: tell the controller with a fresh hello if it is listening.
    public mutating func factsChanged() -> [Action] {
        guard isAccepted else { return [] }
        phase = .awaitingAck
        return [.sendHello]
    }
}
