import SnapfleetCore

/// The mounts visible to this process, and which one holds a given path.
public struct MountTable: Sendable, Equatable {
    /// Every mount, in mountinfo order (a later mount on the same point hides an earlier one).
    public var entries: [MountEntry]

    /// Wraps parsed entries (e.g. from `MountInfo.parse`).
    public init(entries: [MountEntry]) {
        self.entries = entries
    }

    /// Reads and parses a mountinfo file (by default this process's own table).
    public static func load(path: String = "/proc/self/mountinfo") throws -> MountTable {
        MountTable(entries: try MountInfo.parse(SystemFiles.readText(path), origin: path))
    }

    /// The mount holding `path`, after resolving symlinks: the visible mount whose mount point
    /// is the longest whole-component prefix of the resolved path.
    public func mount(containing path: String) throws -> MountEntry {
        try mount(containingResolved: SystemFiles.realPath(path))
    }

    /// The mount holding an already canonical absolute path (no symlinks are followed).
    public func mount(containingResolved path: String) throws -> MountEntry {
        var best: MountEntry?
        for entry in entries where Self.isPath(path, under: entry.mountPoint) {
            // `>=`: of two mounts on the same point the later one is on top, so it wins.
            if entry.mountPoint.utf8.count >= (best?.mountPoint.utf8.count ?? -1) { best = entry }
        }
        guard let best else {
            throw SnapfleetError(
                .notFound, "no mount contains \(path)", hint: "is the mount table from this host's mount namespace?")
        }
        return best
    }

    /// The mounts of a device number, in table order (several for bind mounts).
    public func mounts(ofDevice majorMinor: DeviceNumber) -> [MountEntry] {
        entries.filter { $0.device == majorMinor }
    }

    /// Whether `path` is `mountPoint` or lies below it, comparing whole components
    /// (so `/data2` is not under `/data`).
    /// Paths are compared as bytes: the kernel does not normalize Unicode, so neither do we.
    static func isPath(_ path: String, under mountPoint: String) -> Bool {
        let slash = UInt8(ascii: "/")
        if mountPoint == "/" { return path.utf8.first == slash }
        guard path.utf8.starts(with: mountPoint.utf8) else { return false }
        let rest = path.utf8.dropFirst(mountPoint.utf8.count)
        return rest.first == nil || rest.first == slash
    }
}
