import Foundation
import PostgresBackup
import SnapfleetCore
import TestSupport
import Testing

/// The error a throwing call ends with, as a `SnapfleetError` (nil if it succeeded or threw something else).
func snapfleetError(_ body: () throws -> Void) -> SnapfleetError? {
    do {
        try body()
        return nil
    } catch {
        return error as? SnapfleetError
    }
}

/// The async form of `snapfleetError`.
func snapfleetError(_ body: () async throws -> Void) async -> SnapfleetError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? SnapfleetError
    }
}

/// A name no other test uses (application names, backup ids, labels).
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}
