/// The name of a WAL segment file, `TTTTTTTTLLLLLLLLSSSSSSSS` (timeline, log, segment; each `%08X`).
public struct WALFileName: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The timeline the segment belongs to.
    public let timeline: UInt32
    /// The high 32 bits of the segment's start position (`lsn >> 32`).
    public let log: UInt32
    /// The segment's index within its log (`(lsn & 0xFFFFFFFF) / segmentSize`).
    public let segment: UInt32

    /// Names the segment from its three parts.
    public init(timeline: UInt32, log: UInt32, segment: UInt32) {
        self.timeline = timeline
        self.log = log
        self.segment = segment
    }

    /// Names the segment that holds the byte at `lsn`, as `backup_label` and the backup history file do.
    ///
    /// This equals `pg_walfile_name(lsn)` except when `lsn` is exactly on a segment boundary: see
    /// `init(timeline:lastByteBefore:segmentSize:)`.
    public init(timeline: UInt32, lsn: LSN, segmentSize: Int) {
        self.init(timeline: timeline, segmentNumber: lsn.rawValue / UInt64(segmentSize), segmentSize: segmentSize)
    }

    /// Names the segment that holds the byte just before `lsn`, exactly as `pg_walfile_name` does.
    ///
    /// PostgreSQL's function names the segment that a record *ending* at `lsn` was written to, so on
    /// a segment boundary it gives the previous segment (and at `0/0` it wraps around, as PostgreSQL does).
    public init(timeline: UInt32, lastByteBefore lsn: LSN, segmentSize: Int) {
        let segmentNumber = (lsn.rawValue &- 1) / UInt64(segmentSize)
        self.init(timeline: timeline, segmentNumber: segmentNumber, segmentSize: segmentSize)
    }

    /// Names a segment from its absolute number (`lsn / segmentSize`), PostgreSQL's `XLogFileName`.
    public init(timeline: UInt32, segmentNumber: UInt64, segmentSize: Int) {
        let perLog = Self.segmentsPerLog(segmentSize)
        self.init(
            timeline: timeline,
            log: UInt32(truncatingIfNeeded: segmentNumber / perLog),
            segment: UInt32(truncatingIfNeeded: segmentNumber % perLog))
    }

    /// Parses a 24-hex-digit segment file name (no suffix such as `.partial` or `.backup`).
    public init?(_ name: some StringProtocol) {
        guard name.utf8.count == 24, name.allSatisfy(\.isHexDigit) else { return nil }
        let digits = Array(name)
        func word(_ index: Int) -> UInt32? { UInt32(String(digits[index * 8..<index * 8 + 8]), radix: 16) }
        guard let timeline = word(0), let log = word(1), let segment = word(2) else { return nil }
        self.init(timeline: timeline, log: log, segment: segment)
    }

    /// The absolute segment number (`lsn / segmentSize` of any byte in it).
    public func segmentNumber(segmentSize: Int) -> UInt64 {
        UInt64(log) * Self.segmentsPerLog(segmentSize) + UInt64(segment)
    }

    /// The position of the segment's first byte.
    public func startLSN(segmentSize: Int) -> LSN {
        LSN(rawValue: segmentNumber(segmentSize: segmentSize) * UInt64(segmentSize))
    }

    /// The 24-character file name.
    public var description: String { Self.hex8(timeline) + Self.hex8(log) + Self.hex8(segment) }

    /// Orders as the file names sort.
    public static func < (lhs: WALFileName, rhs: WALFileName) -> Bool {
        (lhs.timeline, lhs.log, lhs.segment) < (rhs.timeline, rhs.log, rhs.segment)
    }

    /// PostgreSQL's `XLogSegmentsPerXLogId`: segment sizes are powers of two from 1 MB to 1 GB.
    private static func segmentsPerLog(_ segmentSize: Int) -> UInt64 {
        precondition(segmentSize > 0 && segmentSize & (segmentSize - 1) == 0, "WAL segment size must be a power of two")
        return 0x1_0000_0000 / UInt64(segmentSize)
    }

    /// `%08X`, which `String(format:)` would give only with full Foundation.
    private static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
