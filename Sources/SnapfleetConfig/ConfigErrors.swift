import SnapfleetCore

/// Helpers for `validate()` implementations: errors that name the key at fault.
public enum ConfigCheck {
    /// An `.invalidConfiguration` error for `key`.
    public static func invalid(_ key: String, _ problem: String, hint: String? = nil) -> SnapfleetError {
        SnapfleetError(.invalidConfiguration, "key '\(key)' \(problem)", hint: hint)
    }

    /// Requires an absolute path.
    public static func absolutePath(_ value: String, key: String) throws(SnapfleetError) {
        guard value.hasPrefix("/") else { throw invalid(key, "must be an absolute path") }
    }

    /// Requires `tcp://HOST:PORT`.
    public static func tcpEndpoint(_ value: String, key: String) throws(SnapfleetError) {
        let rest = value.dropFirst("tcp://".count)
        guard value.hasPrefix("tcp://"), let colon = rest.lastIndex(of: ":"), !rest[..<colon].isEmpty,
            rest[rest.index(after: colon)...].allSatisfy({ $0.isNumber || $0 == "*" }), rest.index(after: colon) < rest.endIndex
        else { throw invalid(key, "must be tcp://HOST:PORT", hint: "e.g. tcp://127.0.0.1:7461") }
    }

    /// Requires a number within a range.
    public static func range(_ value: Int, _ range: ClosedRange<Int>, key: String) throws(SnapfleetError) {
        guard range.contains(value) else { throw invalid(key, "must be between \(range.lowerBound) and \(range.upperBound)") }
    }
}
