import SnapfleetCore

/// Parses the text of `/proc/<pid>/mountinfo` (see proc(5)) into `MountEntry` values.
public enum MountInfo {
    /// Every entry of a mountinfo table, in file order; `origin` names the file in errors.
    public static func parse(_ text: String, origin: String = "/proc/self/mountinfo") throws -> [MountEntry] {
        var entries: [MountEntry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            entries.append(try parseLine(line, number: index + 1, origin: origin))
        }
        return entries
    }

    /// One mountinfo line; `number` (1-based) and `origin` only serve error messages.
    public static func parseLine(_ line: Substring, number: Int = 1, origin: String = "mountinfo") throws -> MountEntry {
        // The kernel separates fields with single spaces and escapes spaces inside them, so an
        // empty field (an empty mount source) shows up as two spaces in a row: keep empties.
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        let fail = { (reason: String) in malformed(reason, number: number, origin: origin) }
        guard fields.count >= 10 else { throw fail("expected at least 10 fields, found \(fields.count)") }
        guard let separator = fields[6...].firstIndex(of: "-") else { throw fail("missing the ' - ' separator") }
        guard fields.count == separator + 4 else {
            throw fail("expected 3 fields after ' - ', found \(fields.count - separator - 1)")
        }
        guard let mountID = Int(fields[0]), let parentID = Int(fields[1]) else {
            throw fail("mount id and parent id must be numbers, found '\(fields[0])' and '\(fields[1])'")
        }
        guard let device = DeviceNumber(fields[2]) else { throw fail("expected major:minor, found '\(fields[2])'") }
        return MountEntry(
            mountID: mountID, parentID: parentID, device: device,
            root: OctalEscapes.decode(fields[3]), mountPoint: OctalEscapes.decode(fields[4]),
            mountOptions: OctalEscapes.decode(fields[5]), optionalFields: fields[6..<separator].map(String.init),
            fsType: OctalEscapes.decode(fields[separator + 1]), source: OctalEscapes.decode(fields[separator + 2]),
            superOptions: OctalEscapes.decode(fields[separator + 3]))
    }

    private static func malformed(_ reason: String, number: Int, origin: String) -> SnapfleetError {
        SnapfleetError(
            .ioError, "malformed mountinfo line \(number) in \(origin): \(reason)",
            hint: "the file must be in the format of /proc/self/mountinfo (see proc(5))")
    }
}
