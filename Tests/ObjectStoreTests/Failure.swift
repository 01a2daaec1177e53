import SnapfleetCore

/// The `SnapfleetError` thrown by `body` (nil if it succeeded or threw something else).
func thrownError(_ body: () throws -> Void) -> SnapfleetError? {
    do { try body() } catch { return error as? SnapfleetError }
    return nil
}
