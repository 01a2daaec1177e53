import Foundation
import HostInspection
import SnapfleetCore
import TestSupport
import Testing

@Suite("BlockDevices reads sysfs and /dev/disk/by-id")
struct BlockDevicesTests {
    let fixture: SysfsFixture
    let devices: BlockDevices

    init() throws {
        fixture = try SysfsFixture()
        devices = BlockDevices(sysRoot: fixture.sysRoot, devRoot: fixture.devRoot)
    }

    @Test("a whole NVMe disk has its name, node, trimmed serial and by-id links")
    func wholeDisk() throws {
        let disk = try #require(try devices.device(majorMinor: DeviceNumber(major: 259, minor: 2)))
        #expect(disk.name == "nvme1n1")
        #expect(disk.devicePath == fixture.devRoot + "/nvme1n1")
        #expect(!disk.isPartition)
        #expect(disk.diskName == "nvme1n1")
        #expect(disk.serial == "vol0123abcd")
        #expect(disk.loopBackingFile == nil)
        #expect(disk.byIDLinks == [fixture.devRoot + "/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123abcd"])
    }

    @Test("a partition knows its number, its parent disk and the disk's serial")
    func nvmePartition() throws {
        let partition = try #require(try devices.device(majorMinor: DeviceNumber(major: 259, minor: 3)))
        #expect(partition.name == "nvme1n1p1")
        #expect(partition.partitionNumber == 1)
        #expect(partition.diskName == "nvme1n1")
        #expect(partition.serial == "vol0123abcd")
        #expect(
            partition.byIDLinks == [fixture.devRoot + "/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123abcd-part1"])
    }

    @Test("a SCSI disk sda and its partition sda1, without a serial")
    func scsiPartition() throws {
        let partition = try devices.device(named: "sda1")
        #expect(partition.majorMinor == DeviceNumber(major: 8, minor: 1))
        #expect(partition.diskName == "sda")
        #expect(partition.partitionNumber == 1)
        #expect(partition.serial == nil)
        #expect(partition.byIDLinks == [fixture.devRoot + "/disk/by-id/ata-QEMU_HARDDISK_QM00001-part1"])
        let disk = try devices.device(named: "sda")
        #expect(disk.majorMinor == DeviceNumber(major: 8, minor: 0) && !disk.isPartition && disk.byIDLinks.isEmpty)
    }

    @Test("a device number without a block device (tmpfs, overlay) gives nil, not an error")
    func anonymousDevice() throws {
        #expect(try devices.device(majorMinor: DeviceNumber(major: 0, minor: 25)) == nil)
    }

    @Test("an unknown device name is a not_found error naming it")
    func unknownName() {
        let error = #expect(throws: SnapfleetError.self) { try devices.device(named: "sdz") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "no block device named sdz")
    }

    @Test("only whole disks are listed")
    func listsDisks() throws {
        #expect(try devices.diskNames() == ["nvme0n1", "nvme1n1", "sda"])
    }

    @Test("an EBS volume id finds the NVMe disk whose serial is the id without its dash")
    func findsEBSVolume() throws {
        #expect(try devices.disk(forEBSVolume: "vol-0123abcd").name == "nvme1n1")
        #expect(try devices.disk(forEBSVolume: "vol-0aaa1111").name == "nvme0n1")
        #expect(try devices.disk(withSerial: "vol0123abcd")?.devicePath == fixture.devRoot + "/nvme1n1")
    }

    @Test("a volume that is not attached is a not_found error naming the volume and serial")
    func missingEBSVolume() {
        let error = #expect(throws: SnapfleetError.self) { try devices.disk(forEBSVolume: "vol-0fff") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "no block device has serial vol0fff (ebs volume vol-0fff)")
        #expect(error?.hint?.contains("attached") == true)
    }

    @Test("missing sysfs directories give empty answers, not crashes")
    func emptyTree() throws {
        let empty = try TemporaryDirectory(prefix: "nosys")
        let devices = BlockDevices(sysRoot: empty.path, devRoot: empty.path)
        #expect(try devices.diskNames().isEmpty)
        #expect(try devices.device(majorMinor: DeviceNumber(major: 8, minor: 0)) == nil)
        #expect(try devices.disk(withSerial: "x") == nil)
    }
}

@Suite(
    "BlockDevices on a real loop device", .serialized,
    .requires(LoopDisk.isAvailable, Comment(rawValue: LoopDisk.requirement)))
struct BlockDevicesLoopTests {
    @Test("a loop device is found by number and by name, with its backing file")
    func loopDevice() throws {
        let disk = try LoopDisk()
        defer { try? disk.detach() }
        let numberText = try Shell.check(["lsblk", "-dno", "MAJ:MIN", disk.devicePath])
        let number = try #require(DeviceNumber(numberText.filter { !$0.isWhitespace }))
        let device = try #require(try BlockDevices().device(majorMinor: number))
        #expect(device.name == disk.deviceName)
        #expect(device.devicePath == disk.devicePath)
        #expect(device.loopBackingFile == disk.imagePath)
        #expect(device.isLoop && !device.isPartition)
        #expect(try BlockDevices().device(named: disk.deviceName) == device)
    }
}
