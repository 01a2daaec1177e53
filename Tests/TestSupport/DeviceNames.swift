import Foundation

/// Names under /dev that tests may create as their own symlinks.
public enum DeviceNames {
    /// A `sdX` name such that neither `/dev/sdX` nor its Xen rename `/dev/xvdX` exists here,
    /// so a test's symlink never shadows a real device.
    public static func unusedSCSIName() -> String? {
        "qrstuvwxyz".map { "sd\($0)" }.first { name in
            !FileManager.default.fileExists(atPath: "/dev/\(name)") && !FileManager.default.fileExists(atPath: "/dev/xvd\(name.dropFirst(2))")
        }
    }
}
