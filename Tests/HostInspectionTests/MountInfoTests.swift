import HostInspection
import SnapfleetCore
import Testing

@Suite("MountInfo parses /proc/self/mountinfo")
struct MountInfoTests {
    static let fixture = """
        22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
        27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,discard,errors=remount-ro
        31 27 259:3 / /var/lib/postgresql/my\\040data rw,noatime shared:20 master:3 - ext4 /dev/nvme1n1p1 rw,commit=30,data=ordered
        32 27 259:3 /wal\\011dir /mnt/tab\\011and\\012newline\\134back rw,noatime - ext4 /dev/nvme1n1p1 rw,commit=30,data=ordered
        40 27 0:45 / /run/user/0 rw,nosuid,nodev - tmpfs  rw,size=1024k,mode=700
        41 27 0:46 / /srv/img ro,relatime - fuse.sshfs user@host:/my\\040share rw,user_id=0

        """

    @Test("every line becomes an entry, in file order")
    func parsesAllLines() throws {
        let entries = try MountInfo.parse(Self.fixture)
        #expect(entries.map(\.mountID) == [22, 27, 31, 32, 40, 41])
        #expect(entries.map(\.parentID) == [27, 1, 27, 27, 27, 27])
    }

    @Test("fields of a plain mount are split as proc(5) describes")
    func parsesFields() throws {
        let root = try MountInfo.parse(Self.fixture)[1]
        #expect(root.device == DeviceNumber(major: 254, minor: 1))
        #expect(root.root == "/")
        #expect(root.mountPoint == "/")
        #expect(root.mountOptions == "rw,relatime")
        #expect(root.optionalFields == ["shared:1"])
        #expect(root.fsType == "ext4")
        #expect(root.source == "/dev/vda1")
        #expect(root.superOptions == "rw,discard,errors=remount-ro")
        #expect(!root.isReadOnly)
    }

    @Test("octal escapes in root, mount point and source are decoded")
    func decodesEscapes() throws {
        let entries = try MountInfo.parse(Self.fixture)
        #expect(entries[2].mountPoint == "/var/lib/postgresql/my data")
        #expect(entries[3].root == "/wal\tdir")
        #expect(entries[3].mountPoint == "/mnt/tab\tand\nnewline\\back")
        #expect(entries[5].source == "user@host:/my share")
    }

    @Test("a bind mount shares the device of its origin and names the subdirectory as root")
    func parsesBindMount() throws {
        let entries = try MountInfo.parse(Self.fixture)
        #expect(entries[3].device == entries[2].device)
        #expect(entries[2].root == "/")
        #expect(entries[3].root != "/")
    }

    @Test("zero or several optional fields are kept up to the separator")
    func parsesOptionalFields() throws {
        let entries = try MountInfo.parse(Self.fixture)
        #expect(entries[2].optionalFields == ["shared:20", "master:3"])
        #expect(entries[3].optionalFields.isEmpty)
    }

    @Test("an empty mount source (two spaces) is an empty string")
    func parsesEmptySource() throws {
        let tmpfs = try MountInfo.parse(Self.fixture)[4]
        #expect(tmpfs.fsType == "tmpfs")
        #expect(tmpfs.source == "")
        #expect(tmpfs.superOptions == "rw,size=1024k,mode=700")
    }

    @Test("a read-only mount says so")
    func readOnly() throws {
        #expect(try MountInfo.parse(Self.fixture)[5].isReadOnly)
    }

    @Test("a backslash not followed by three octal digits is kept")
    func keepsStrayBackslash() throws {
        let entry = try MountInfo.parseLine("1 0 8:1 / /a\\b\\12x\\0 rw - ext4 /dev/sda1 rw")
        #expect(entry.mountPoint == "/a\\b\\12x\\0")
    }

    @Test(
        "a malformed line is an io_error naming the line and the problem",
        arguments: [
            ("27 1 254:1 / / rw,relatime shared:1 ext4 /dev/vda1 rw", "missing the ' - ' separator"),
            ("27 1 254:1 / /", "expected at least 10 fields, found 5"),
            ("x 1 254:1 / / rw - ext4 /dev/vda1 rw", "mount id and parent id must be numbers"),
            ("27 1 254 / / rw - ext4 /dev/vda1 rw", "expected major:minor, found '254'"),
            ("27 1 254:1 / / rw - ext4 /dev/vda1 rw extra", "expected 3 fields after ' - ', found 4"),
            ("27 1 254:1 / / rw - ext4 /dev/vda1", "expected at least 10 fields, found 9"),
        ])
    func rejectsMalformedLine(line: String, reason: String) {
        let text = "22 27 0:21 / /proc rw - proc proc rw\n\(line)\n"
        let error = #expect(throws: SnapfleetError.self) { try MountInfo.parse(text, origin: "/fixture") }
        #expect(error?.code == .ioError)
        #expect(error?.message.hasPrefix("malformed mountinfo line 2 in /fixture: \(reason)") == true)
        #expect(error?.hint != nil)
    }

    @Test("an empty table has no entries")
    func parsesEmptyText() throws {
        #expect(try MountInfo.parse("").isEmpty)
    }
}
