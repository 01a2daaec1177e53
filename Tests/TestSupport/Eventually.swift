import Foundation

/// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held.
///
/// The condition is always tried once more after the deadline, so a caller that was kept
/// waiting (two busy cores) is not failed for a condition that has meanwhile come true.
public func eventually(
    timeout: Duration = .seconds(10), poll: Duration = .milliseconds(50), _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
    }
    return try condition()
}

/// The same for async tests: sleeps without holding a thread.
public func eventually(
    timeout: Duration = .seconds(10), poll: Duration = .milliseconds(50), _ condition: () throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: poll)
    }
    return try condition()
}
