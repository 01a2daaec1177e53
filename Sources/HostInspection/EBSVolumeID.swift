import SnapfleetCore

/// EBS volume ids and the NVMe serials that carry them on AWS Nitro instances.
public enum EBSVolumeID {
    /// The NVMe serial of a volume: `vol-0123abcd` becomes `vol0123abcd`; a dashless id is kept.
    public static func nvmeSerial(forVolumeID volumeID: String) throws -> String {
        let hex = volumeID.hasPrefix("vol-") ? volumeID.dropFirst(4) : volumeID.dropFirst(3)
        guard volumeID.hasPrefix("vol"), !hex.isEmpty, hex.allSatisfy(\.isHexDigit) else {
            throw SnapfleetError(
                .notFound, "'\(volumeID)' is not an ebs volume id",
                hint: "ebs volume ids look like vol-0123456789abcdef0")
        }
        return "vol\(hex)"
    }

    /// The volume id an NVMe serial names (`vol0123abcd` → `vol-0123abcd`), or nil if it names none.
    public static func volumeID(fromNVMeSerial serial: String) -> String? {
        let hex = serial.dropFirst(3)
        guard serial.hasPrefix("vol"), !hex.isEmpty, hex.allSatisfy(\.isHexDigit) else { return nil }
        return "vol-\(hex)"
    }
}
