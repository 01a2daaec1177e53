import HostInspection
import Testing

@Suite("DeviceNumber reads and prints major:minor")
struct DeviceNumberTests {
    @Test("major:minor parses and prints back the same")
    func roundTrip() {
        let number = DeviceNumber("259:3")
        #expect(number == DeviceNumber(major: 259, minor: 3))
        #expect(number?.description == "259:3")
    }

    @Test("anything else is not a device number", arguments: ["", "259", "259:", ":3", "a:b", "1:2:3", "-1:0"])
    func rejectsOtherText(text: String) {
        #expect(DeviceNumber(text) == nil)
    }
}
