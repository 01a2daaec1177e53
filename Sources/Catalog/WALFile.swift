/// A name barman's WAL archive accepts (`xlog.is_any_xlog_file`): a segment, a `.partial` segment,
/// a `.backup` history file or a timeline `.history` file (spec §9.3).
public struct WALFile: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// What kind of file the name is.
    public enum Kind: Sendable, Hashable {
        /// `TTTTTTTTLLLLLLLLSSSSSSSS`.
        case segment
        /// `<segment>.partial`.
        case partial
        /// `<segment>.<8-hex offset>.backup`.
        case backupHistory
        /// `TTTTTTTT.history`.
        case timelineHistory
    }

    /// The file name, uncompressed (no `.gz` etc.).
    public let name: String
    /// Its kind.
    public let kind: Kind

    /// Parses a name with barman's regex; hex digits may be of either case, as barman allows.
    public init?(name: String) {
        let bytes = Array(name.utf8)
        func hex(_ range: Range<Int>) -> Bool {
            range.upperBound <= bytes.count && bytes[range].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66) }
        }
        guard hex(0..<8) else { return nil }
        let rest = String(decoding: bytes.dropFirst(24), as: UTF8.self)
        if bytes.count == 16, String(decoding: bytes[8...], as: UTF8.self) == ".history" {
            kind = .timelineHistory
        } else if hex(8..<24), rest.isEmpty {
            kind = .segment
        } else if hex(8..<24), rest == ".partial" {
            kind = .partial
        } else if hex(8..<24), bytes.count == 40, bytes[24] == UInt8(ascii: "."), hex(25..<33), rest.hasSuffix(".backup") {
            kind = .backupHistory
        } else {
            return nil
        }
        self.name = name
    }

    /// The timeline, from the first eight hex digits.
    public var timeline: UInt32 { UInt32(name.prefix(8), radix: 16)! }

    /// The 24-character segment name this file belongs to; nil for a timeline history file.
    ///
    /// Barman's retention compares `.backup` files by these first 24 characters (spec §7.5).
    public var segmentName: String? { kind == .timelineHistory ? nil : String(name.prefix(24)) }

    /// The archive directory under `wals/`: the first 16 characters as written, or `""` for a
    /// history file, which sits directly under `wals/` (`xlog.hash_dir`, spec §2.1).
    public var hashDirectory: String { kind == .timelineHistory ? "" : String(name.prefix(16)) }

    /// The name.
    public var description: String { name }

    /// Plain string order of the names, which barman's WAL cleanup relies on (spec §7.5).
    public static func < (lhs: WALFile, rhs: WALFile) -> Bool { lhs.name < rhs.name }
}
