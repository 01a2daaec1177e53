import HostInspection
import SnapfleetCore
import Testing

@Suite("EBSVolumeID converts between volume ids and NVMe serials")
struct EBSVolumeIDTests {
    @Test("the serial is the volume id without its dash, and back")
    func roundTrip() throws {
        #expect(try EBSVolumeID.nvmeSerial(forVolumeID: "vol-0123456789abcdef0") == "vol0123456789abcdef0")
        #expect(try EBSVolumeID.nvmeSerial(forVolumeID: "vol0123abcd") == "vol0123abcd")
        #expect(EBSVolumeID.volumeID(fromNVMeSerial: "vol0123456789abcdef0") == "vol-0123456789abcdef0")
    }

    @Test("text that is not a volume id is refused", arguments: ["", "vol-", "snap-0123", "vol-xyz", "volume"])
    func rejectsOtherIDs(text: String) {
        let error = #expect(throws: SnapfleetError.self) { try EBSVolumeID.nvmeSerial(forVolumeID: text) }
        #expect(error?.code == .notFound)
        #expect(error?.message == "'\(text)' is not an ebs volume id")
    }

    @Test("a serial that is not a volume's names no volume")
    func otherSerials() {
        #expect(EBSVolumeID.volumeID(fromNVMeSerial: "S4EWNX0R123456") == nil)
        #expect(EBSVolumeID.volumeID(fromNVMeSerial: "vol") == nil)
    }
}
