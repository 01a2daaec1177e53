import Foundation
import SnapfleetProtocol

/// Renders `check --format json`: `{"server": …, "passed": …, "checks": [{name, passed, detail, hint}]}`.
public enum CheckReportOutput {
    /// The report as pretty-printed JSON.
    public static func json(_ report: CheckReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Strings and bools only: encoding cannot fail.
        return String(decoding: try! encoder.encode(Output(report)), as: UTF8.self)
    }

    private struct Output: Encodable {
        let server: String
        let passed: Bool
        let checks: [CheckLine]

        init(_ report: CheckReport) {
            server = report.server
            passed = report.passed
            checks = report.checks
        }
    }
}
