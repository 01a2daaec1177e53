import SnapfleetCore

/// How a disk's `device_name` names it on the host. The agent turns a name into a path with a
/// fixed template of its own: no message carries a path to look at.
public enum DeviceNaming: String, Codable, Sendable, Equatable, CaseIterable {
    /// `/dev/NAME` as the attachment is reported (AWS `/dev/sdf`, local `/dev/loop3`): 1–32
    /// lower-case letters and digits after `/dev/`.
    case path
    /// A Compute Engine device name (RFC 1035, at most 63 characters): the guest sees
    /// `/dev/disk/by-id/google-NAME`.
    case gcp
    /// An Azure data disk's LUN as `lunN` (0–63): the guest sees `/dev/disk/azure/scsi1/lunN`.
    case azure

    /// Whether `name` is spelled as this naming requires.
    public func accepts(_ name: String) -> Bool {
        switch self {
        case .path:
            let suffix = name.utf8.dropFirst(5)
            return name.hasPrefix("/dev/") && (1...32).contains(suffix.count)
                && suffix.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) }
        case .gcp:
            return name.wholeMatch(of: /[a-z]([-a-z0-9]{0,61}[a-z0-9])?/) != nil
        case .azure:
            guard let number = Int(name.dropFirst(3)), name.hasPrefix("lun"), name.dropFirst(3).allSatisfy(\.isASCII) else { return false }
            return (0...63).contains(number) && String(number) == name.dropFirst(3)
        }
    }

    /// The error for a device name this naming does not accept.
    public func check(_ name: String, field: String) throws(SnapfleetError) {
        guard accepts(name) else {
            let expected =
                switch self {
                case .path: "/dev/ followed by 1-32 lower-case letters and digits"
                case .gcp: "a compute engine device name (lower-case letters, digits and -, at most 63)"
                case .azure: "lunN with N from 0 to 63"
                }
            throw SnapfleetError(.invalidBody, "\(field) must be \(expected) for device_naming \(rawValue)")
        }
    }
}
