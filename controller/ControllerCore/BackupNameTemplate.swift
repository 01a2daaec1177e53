import Catalog
import Foundation
import SnapfleetCore

/// A server's `backup_name`: text with `{server}`, `{date}` (YYYY-MM-DD) and `{time}` (HHMM),
/// filled in when a scheduled backup starts.
struct BackupNameTemplate: Sendable, Equatable {
    /// The template as configured.
    let text: String

    /// Wraps a template; `render` checks it.
    init(_ text: String) { self.text = text }

    /// The name for a backup of `server` started at `date` (read in `timeZone`); refuses unknown
    /// placeholders and names barman would refuse.
    func render(server: String, at date: Date, in timeZone: TimeZone) throws(SnapfleetError) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let two = { (value: Int?) in value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        let values = [
            "server": server, "date": "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day))", "time": two(parts.hour) + two(parts.minute),
        ]
        var name = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            name += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw SnapfleetError(.invalidConfiguration, "'\(text)' has a '{' without its '}'")
            }
            let placeholder = String(rest[rest.index(after: open)..<close])
            guard let value = values[placeholder] else {
                throw SnapfleetError(.invalidConfiguration, "'\(text)' uses {\(placeholder)}; the placeholders are {server}, {date} and {time}")
            }
            name += value
            rest = rest[rest.index(after: close)...]
        }
        name += rest
        do { try BackupName.validate(name) } catch {
            throw SnapfleetError(.invalidConfiguration, "'\(text)' makes the name '\(name)': \((error as? SnapfleetError)?.message ?? "\(error)")")
        }
        return name
    }
}
