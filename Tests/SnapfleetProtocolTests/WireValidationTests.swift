import SnapfleetCore
import SnapfleetProtocol
import Testing

/// The value rules of PROTOCOL.md, checked directly on `Wire`.
@Suite("Value rules")
struct WireValidationTests {
    @Test(
        "server names",
        arguments: [
            ("pg1", true), ("pg-main-1", true), ("pg_main.eu", true), ("9db", true),
            (String(repeating: "a", count: 64), true), ("", false), ("_pg", false), ("-pg", false), (".pg", false),
            ("pg main", false), ("pg/1", false), (String(repeating: "a", count: 65), false), ("pgé", false),
        ])
    func serverNames(_ name: String, _ valid: Bool) {
        #expect(((try? Wire.checkServerName(name)) != nil) == valid)
    }

    @Test(
        "backup ids",
        arguments: [
            ("20251125T213000", true), ("20251125t213000", false), ("2025-11-25T21:30", false),
            ("20251125T2130000", false), ("20251125T21300", false), ("20251125 213000", false), ("２0251125T213000", false),
        ])
    func backupIDs(_ id: String, _ valid: Bool) {
        #expect(((try? Wire.checkBackupID(id)) != nil) == valid)
    }

    @Test(
        "LSNs",
        arguments: [
            ("0/2000028", true), ("16/B374D848", true), ("ffffffff/FFFFFFFF", true), ("0/", false),
            ("/0", false), ("0/123456789", false), ("0x0/1", false), ("0/1/2", false), ("0/XYZ", false), ("0/1 ", false),
        ])
    func lsns(_ lsn: String, _ valid: Bool) {
        #expect(((try? Wire.checkLSN(lsn, field: "lsn")) != nil) == valid)
    }

    @Test(
        "WAL file names",
        arguments: [
            ("000000010000000000000002", true), ("0000000100000000000000FF", true),
            ("0000000100000000000000ff", false), ("00000001000000000000002", false), ("000000010000000000000002.partial", false),
            ("00000001000000000000000G", false),
        ])
    func walFileNames(_ name: String, _ valid: Bool) {
        #expect(((try? Wire.checkWALFileName(name, field: "wal_file")) != nil) == valid)
    }

    @Test("text: bounded in UTF-8 bytes and free of control characters")
    func text() {
        #expect((try? Wire.checkText(String(repeating: "a", count: 1024), field: "label", maxLength: 1024)) != nil)
        #expect((try? Wire.checkText(String(repeating: "é", count: 513), field: "label", maxLength: 1024)) == nil)
        #expect((try? Wire.checkText("a\u{7F}", field: "label")) == nil)
        #expect((try? Wire.checkText("tab\there", field: "label")) == nil)
    }

    @Test("paths must be absolute")
    func paths() {
        #expect((try? Wire.checkPath("/var/lib/postgresql/15/main", field: "data_directory")) != nil)
        #expect((try? Wire.checkPath("var/lib/postgresql", field: "data_directory")) == nil)
        #expect((try? Wire.checkPath("/var/lib\n/x", field: "data_directory")) == nil)
    }

    /// A digit followed by a combining mark is one `Character` between "0" and "9": the checks
    /// must look at bytes, or such values would pass (and become object-store keys).
    @Test("LSNs, WAL file names and system identifiers are ASCII only")
    func asciiOnly() {
        let combining = "5\u{301}"
        var facts = PostgresFacts(
            serverVersionNum: 150018, serverVersion: "15.18", systemIdentifier: "7441572341234567890",
            dataDirectory: "/var/lib/postgresql/15/main", tablespaces: [], walDirectory: nil, walLevel: "replica",
            archiveMode: "on", archiveCommand: "true", walSegmentSize: 16 << 20, inRecovery: false)
        #expect((try? facts.validate()) != nil)
        facts.systemIdentifier = "744157234123456789\(combining)"
        #expect((try? Wire.checkLSN("0/\(combining)", field: "lsn")) == nil)
        #expect((try? Wire.checkWALFileName(String(repeating: "0\u{301}", count: 8), field: "wal_file")) == nil)
        #expect((try? facts.validate()) == nil)
        facts.systemIdentifier = "99999999999999999999"
        #expect((try? facts.validate()) == nil, "above UInt64.max")
    }
}
