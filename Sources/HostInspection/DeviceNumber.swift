/// A device number as the kernel prints it: `major:minor` (e.g. `7:0` for `/dev/loop0`).
public struct DeviceNumber: Hashable, Sendable, CustomStringConvertible {
    /// The major number (the driver: 7 is loop, 259 is NVMe).
    public var major: UInt32
    /// The minor number (the device or partition within the driver).
    public var minor: UInt32

    /// Creates a device number from its two parts.
    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// Parses `major:minor`; nil unless both parts are decimal numbers.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    /// Splits a `dev_t` the way glibc's `major()` / `minor()` macros do (Swift cannot call macros).
    init(rawValue value: UInt64) {
        let major = ((value >> 8) & 0xfff) | ((value >> 32) & ~UInt64(0xfff))
        let minor = (value & 0xff) | ((value >> 12) & ~UInt64(0xff))
        self.init(major: UInt32(truncatingIfNeeded: major), minor: UInt32(truncatingIfNeeded: minor))
    }

    /// `major:minor`.
    public var description: String { "\(major):\(minor)" }
}
