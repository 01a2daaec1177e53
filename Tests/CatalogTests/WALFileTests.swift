import Catalog
import Testing

@Suite("WALFile")
struct WALFileTests {
    @Test("barman's WAL names are recognized with their kind and hash directory")
    func kinds() throws {
        let segment = try #require(WALFile(name: "0000000100000003000000A2"))
        #expect(segment.kind == .segment && segment.hashDirectory == "0000000100000003" && segment.timeline == 1)
        #expect(WALFile(name: "0000000100000003000000A2.partial")?.kind == .partial)
        let backup = try #require(WALFile(name: "0000000100000003000000A2.00000028.backup"))
        #expect(backup.kind == .backupHistory && backup.segmentName == "0000000100000003000000A2")
        let history = try #require(WALFile(name: "0000000A.history"))
        #expect(history.kind == .timelineHistory && history.hashDirectory == "" && history.timeline == 10 && history.segmentName == nil)
        #expect(WALFile(name: "0000000100000003000000a2")?.hashDirectory == "0000000100000003")
    }

    @Test(
        "other names are not WAL names",
        arguments: [
            "", "0000000100000003000000A", "0000000100000003000000A2.gz", "000000010000000300000G00", "0000000100000003000000A2.0000028.backup",
            "00000001.History", "backup_label", "0000000100000003000000A2.partial.partial",
        ])
    func notWAL(name: String) {
        #expect(WALFile(name: name) == nil)
    }

    @Test("names order as plain strings, so .partial and .backup sort just after their segment")
    func order() {
        let names = [
            "000000010000000000000006.00000028.backup", "000000010000000000000007", "000000010000000000000006", "000000010000000000000006.partial",
        ]
        #expect(
            names.compactMap(WALFile.init(name:)).sorted().map(\.name) == [
                "000000010000000000000006", "000000010000000000000006.00000028.backup", "000000010000000000000006.partial",
                "000000010000000000000007",
            ])
    }
}
