import Foundation
import Testing

/// Whether every test must run (`SNAPFLEET_REQUIRE_ALL=1`, as `.ci/run` sets it): a test or suite
/// whose requirement is missing then fails, naming what is missing, instead of being skipped.
public let requireAll = ProcessInfo.processInfo.environment["SNAPFLEET_REQUIRE_ALL"] == "1"

/// A requirement of a test that the machine does not meet, reported under `SNAPFLEET_REQUIRE_ALL=1`.
public struct MissingRequirement: Error, CustomStringConvertible {
    /// What is missing and how to get it.
    public let description: String
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only where `met` holds; otherwise it is skipped with `what` as the reason,
    /// or, under `SNAPFLEET_REQUIRE_ALL=1`, fails with it: a machine missing moto, barman-cloud, root
    /// or the built programs can never pass with most of the suite silently skipped.
    public static func requires(
        _ met: @autoclosure @escaping @Sendable () -> Bool, _ what: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        .enabled(what, sourceLocation: sourceLocation) {
            if met() { return true }
            if requireAll { throw MissingRequirement(description: "SNAPFLEET_REQUIRE_ALL=1 and a requirement is missing: \(what.rawValue)") }
            return false
        }
    }
}
