import SnapfleetCore

/// `check_server`: run every pre-flight check of a server (operator → controller).
public struct CheckServer: WireBody {
    /// The server to check.
    public var server: String

    /// Names the server.
    public init(server: String) { self.server = server }

    enum CodingKeys: String, CodingKey {
        case server
    }

    /// Checks the name.
    public func validate() throws(SnapfleetError) { try Wire.checkServerName(server) }
}

/// `check_report`: the result of every pre-flight check, in order.
public struct CheckReport: WireBody {
    /// The server checked.
    public var server: String
    /// One entry per check.
    public var checks: [CheckLine]

    /// Creates a report.
    public init(server: String, checks: [CheckLine]) {
        self.server = server
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case server, checks
    }

    /// Whether every check passed.
    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// Checks every line.
    public func validate() throws(SnapfleetError) {
        try Wire.checkServerName(server)
        for check in checks { try check.validate() }
    }
}

/// One check: what, whether it passed, what was found, and what to do about a failure.
public struct CheckLine: WireBody {
    /// What was checked.
    public var name: String
    /// Whether it passed.
    public var passed: Bool
    /// What was found.
    public var detail: String
    /// What to do about it.
    public var hint: String?

    /// Creates a line.
    public init(name: String, passed: Bool, detail: String, hint: String? = nil) {
        self.name = name
        self.passed = passed
        self.detail = Wire.sanitized(detail)
        self.hint = hint.map { Wire.sanitized($0) }
    }

    enum CodingKeys: String, CodingKey {
        case name, passed, detail, hint
    }

    /// `OK      name: detail` or `FAILED  name: detail (hint: …)`.
    public var line: String {
        "\(passed ? "OK    " : "FAILED")  \(name): \(detail)" + (hint.map { " (hint: \($0))" } ?? "")
    }

    /// Bounded texts.
    public func validate() throws(SnapfleetError) {
        try Wire.checkText(name, field: "checks.name", maxLength: 256)
        try Wire.checkText(detail, field: "checks.detail")
        if let hint { try Wire.checkText(hint, field: "checks.hint") }
    }
}
