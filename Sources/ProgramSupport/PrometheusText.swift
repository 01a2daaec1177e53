import Foundation

/// Writes Prometheus's text exposition format (version 0.0.4): each family's `# HELP` and
/// `# TYPE` once, then its samples, label values escaped.
public struct PrometheusText: Sendable {
    /// The text so far.
    public private(set) var text = ""

    /// An empty document.
    public init() {}

    /// Starts a family: `type` is `counter`, `gauge` or `histogram`.
    public mutating func family(_ name: String, _ type: String, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    /// One sample line.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        text += "\(name)\(rendered) \(Self.number(value))\n"
    }

    /// A histogram's cumulative `_bucket` lines, `_sum` and `_count`.
    public mutating func histogram(_ name: String, _ labels: [(String, String)] = [], _ histogram: Histogram) {
        for (bound, count) in zip(histogram.bounds, histogram.cumulativeCounts) {
            sample(name + "_bucket", labels + [("le", Self.number(bound))], Double(count))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    /// `1`, `0.25`, `+Inf`: integers without a decimal point.
    static func number(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value.isNaN { return "NaN" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Observations counted into fixed buckets (upper bounds, ascending), with their sum.
public struct Histogram: Sendable, Equatable {
    /// The buckets' upper bounds.
    public let bounds: [Double]
    private var counts: [Int]
    /// Observations in all.
    public private(set) var count = 0
    /// Their sum.
    public private(set) var sum = 0.0

    /// An empty histogram with these bucket bounds.
    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        counts = Array(repeating: 0, count: bounds.count)
    }

    /// Counts one observation.
    public mutating func observe(_ value: Double) {
        count += 1
        sum += value
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
    }

    /// How many observations are at or below each bound.
    public var cumulativeCounts: [Int] {
        var running = 0
        return counts.map {
            running += $0; return running
        }
    }
}
