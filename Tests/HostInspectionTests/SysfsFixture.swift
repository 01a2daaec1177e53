import Foundation
import TestSupport

/// A fake `/sys` and `/dev` in a temporary directory, laid out with the same relative
/// symlinks the kernel and udev make, for an AWS Nitro host and a host with a SCSI disk:
///
/// - `nvme0n1` (259:0, root volume `vol-0aaa1111`) with partition `nvme0n1p1` (259:1)
/// - `nvme1n1` (259:2, data volume `vol-0123abcd`) with partition `nvme1n1p1` (259:3)
/// - `sda` (8:0, no serial) with partition `sda1` (8:1)
final class SysfsFixture {
    let directory: TemporaryDirectory
    var sysRoot: String { directory.file("sys") }
    var devRoot: String { directory.file("dev") }

    init() throws {
        directory = try TemporaryDirectory(prefix: "sysfs")
        let nvme = "devices/pci0000:00/0000:00:04.0/nvme"
        try addNVMeController("nvme0", at: "\(nvme)/nvme0", serial: "vol0aaa1111")
        try addDisk("nvme0n1", "259:0", at: "\(nvme)/nvme0/nvme0n1", deviceLink: "../../nvme0")
        try addPartition("nvme0n1p1", "259:1", number: 1, of: "\(nvme)/nvme0/nvme0n1")
        // Nitro pads the serial with spaces: lookups must trim it.
        try addNVMeController("nvme1", at: "\(nvme)/nvme1", serial: "vol0123abcd         ")
        try addDisk("nvme1n1", "259:2", at: "\(nvme)/nvme1/nvme1n1", deviceLink: "../../nvme1")
        try addPartition("nvme1n1p1", "259:3", number: 1, of: "\(nvme)/nvme1/nvme1n1")
        let scsi = "devices/pci0000:00/0000:00:05.0/host0/target0:0:0/0:0:0:0"
        try makeDirectory("sys/\(scsi)")
        try addDisk("sda", "8:0", at: "\(scsi)/block/sda", deviceLink: "../../../0:0:0:0")
        try addPartition("sda1", "8:1", number: 1, of: "\(scsi)/block/sda")
        try addByIDLink("nvme-Amazon_Elastic_Block_Store_vol0123abcd", to: "nvme1n1")
        try addByIDLink("nvme-Amazon_Elastic_Block_Store_vol0123abcd-part1", to: "nvme1n1p1")
        try addByIDLink("nvme-Amazon_Elastic_Block_Store_vol0aaa1111", to: "nvme0n1")
        try addByIDLink("ata-QEMU_HARDDISK_QM00001-part1", to: "sda1")
    }

    private func addNVMeController(_ name: String, at path: String, serial: String) throws {
        try write("\(serial)\n", to: "sys/\(path)/serial")
    }

    private func addDisk(_ name: String, _ number: String, at path: String, deviceLink: String) throws {
        try addBlockDevice(name, number, at: path)
        try link("sys/\(path)/device", to: deviceLink)
        try link("sys/block/\(name)", to: "../\(path)")
    }

    private func addPartition(_ name: String, _ number: String, number partition: Int, of disk: String) throws {
        try addBlockDevice(name, number, at: "\(disk)/\(name)")
        try write("\(partition)\n", to: "sys/\(disk)/\(name)/partition")
    }

    private func addBlockDevice(_ name: String, _ number: String, at path: String) throws {
        try write("\(number)\n", to: "sys/\(path)/dev")
        try link("sys/dev/block/\(number)", to: "../../\(path)")
        try link("sys/class/block/\(name)", to: "../../\(path)")
        try write("", to: "dev/\(name)")
    }

    private func addByIDLink(_ name: String, to device: String) throws {
        try link("dev/disk/by-id/\(name)", to: "../../\(device)")
    }

    private func write(_ text: String, to relative: String) throws {
        let path = directory.file(relative)
        try makeDirectory((relative as NSString).deletingLastPathComponent)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    private func link(_ relative: String, to destination: String) throws {
        try makeDirectory((relative as NSString).deletingLastPathComponent)
        try FileManager.default.createSymbolicLink(atPath: directory.file(relative), withDestinationPath: destination)
    }

    private func makeDirectory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: directory.file(relative), withIntermediateDirectories: true)
    }
}
