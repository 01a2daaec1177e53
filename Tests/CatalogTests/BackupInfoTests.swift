import Catalog
import SnapfleetCore
import Testing

@Suite("BackupInfo")
struct BackupInfoTests {
    @Test("the spec's backup.info examples round-trip byte for byte", arguments: [Fixtures.aws, Fixtures.gcp, Fixtures.azure, Fixtures.failed])
    func roundTrip(text: String) throws {
        #expect(try BackupInfo(decoding: Array(text.utf8)).encoded() == text)
    }

    @Test("the AWS example decodes into typed fields")
    func typedFields() throws {
        let info = try BackupInfo(decoding: Fixtures.aws)
        #expect(info.status == .done)
        #expect(info.backupName == "nightly")
        #expect(info.beginTime == PythonDateTime(year: 2024, month: 3, day: 15, hour: 2, minute: 15, second: 1, microsecond: 123_456, utcOffset: 0))
        #expect(info.beginWAL == "0000000100000003000000A2")
        #expect(info.endXlog == "3/A2000138")
        #expect(info.timeline == 1)
        #expect(info.version == 160_002)
        #expect(info.systemID == "7345123456789012345")
        #expect(info.backupLabel?.hasPrefix("START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT") == true)
        #expect(info.tablespaces == [BackupTablespace(name: "tbs1", oid: 16387, location: "/opt/postgres/tablespaces/tbs1")])
        #expect(info.copyStats?["copy_time"]?.doubleValue == 70.123456)
        #expect(info.mode == nil && info.error == nil && info.includedFiles == nil)
        #expect(info.serverName == "pg-main")
        #expect(info.snapshotsInfo?.snapshotIdentifiers == ["snap-0a1b2c3d4e5f67890", "snap-0f9e8d7c6b5a43210"])
        #expect(info.additionalFields.isEmpty)
    }

    @Test("a snapshot backup built in Swift encodes to the spec's AWS file")
    func encodesFromScratch() throws {
        var info = BackupInfo(status: .done)
        let example = try BackupInfo(decoding: Fixtures.aws)
        info.backupLabel = example.backupLabel
        info.backupName = "nightly"
        info.beginOffset = 40
        info.beginTime = try PythonDateTime(parsing: "2024-03-15 02:15:01.123456+00:00")
        info.beginWAL = "0000000100000003000000A2"
        info.beginXlog = "3/A2000028"
        info.clusterSize = 2_437_898_752
        info.configFile = "/opt/postgres/data/postgresql.conf"
        info.copyStats = BackupInfo.copyStats(copyTime: 70.123456, totalTime: 70.123456)
        info.dataChecksums = "on"
        info.endOffset = 312
        info.endTime = try PythonDateTime(parsing: "2024-03-15 02:16:12.654321+00:00")
        info.endWAL = "0000000100000003000000A2"
        info.endXlog = "3/A2000138"
        info.hbaFile = "/opt/postgres/data/pg_hba.conf"
        info.identFile = "/opt/postgres/data/pg_ident.conf"
        info.pgdata = "/opt/postgres/data"
        info.serverName = "pg-main"
        info.snapshotsInfo = example.snapshotsInfo
        info.systemID = "7345123456789012345"
        info.tablespaces = [BackupTablespace(name: "tbs1", oid: 16387, location: "/opt/postgres/tablespaces/tbs1")]
        info.timeline = 1
        info.version = 160_002
        let text = try info.encoded()
        #expect(text == Fixtures.aws)
        #expect(text.split(separator: "\n").count == 35)
    }

    @Test("an empty record writes 33 keys: backup_name and snapshots_info are hidden when nil")
    func emptyRecord() throws {
        let text = try BackupInfo().encoded()
        let keys = text.split(separator: "\n").map { String($0.split(separator: "=")[0]) }
        #expect(keys.count == 33 && keys == keys.sorted())
        #expect(!keys.contains("backup_name") && !keys.contains("snapshots_info"))
        #expect(text.contains("status=EMPTY\n") && text.contains("xlog_segment_size=16777216\n") && text.contains("error=None\n"))
    }

    @Test("a minimal file with only backup_label and end_time loads with barman's defaults (§12 item 13)")
    func minimalFile() throws {
        let info = try BackupInfo(decoding: "backup_label=None\nend_time=2024-03-15 02:16:12+00:00\n")
        #expect(info.status == .empty)
        #expect(info.xlogSegmentSize == 16_777_216)
        #expect(info.backupLabel == nil)
        #expect(info.endTime?.description == "2024-03-15 02:16:12+00:00")
    }

    @Test("the reader skips blank and comment lines, strips both sides and accepts CRLF")
    func tolerantReader() throws {
        let info = try BackupInfo(decoding: "# written by hand\r\n\r\n  status = DONE  \r\n\n version=150004\r")
        #expect(info.status == .done)
        #expect(info.version == 150_004)
    }

    @Test("unknown keys are kept raw and written back in their sorted place")
    func unknownKeysPreserved() throws {
        let text = Fixtures.failed.replacingOccurrences(of: "hba_file=None\n", with: "hba_file=None\nhot_new_field={'x': [1, 2]}\n")
            .replacingOccurrences(of: "begin_offset=40\n", with: "backup_type=snapshot\nbegin_offset=40\n")
        let info = try BackupInfo(decoding: text)
        #expect(info.additionalFields == ["hot_new_field": "{'x': [1, 2]}", "backup_type": "snapshot"])
        #expect(try info.encoded() == text)
    }

    @Test("barman's strict mode refuses an unknown key with barman's message and the line")
    func unknownKeyRejected() {
        let error = #expect(throws: SnapfleetError.self) {
            try BackupInfo(decoding: "status=DONE\nbackup_type=snapshot\n", unknownKeys: .reject)
        }
        #expect(error?.code == .invalidBody)
        #expect(
            error?.message
                == "backup.info line 2: Unsupported field 'backup_type' found in backup metadata. This indicates the backup was created with a newer version of Barman. Please upgrade to a compatible or newer version."
        )
    }

    @Test(
        "a corrupt file is refused with the line, the key and the position",
        arguments: [
            ("status=DONE\nstatus=DONE\n", "backup.info line 2: duplicate key 'status'"),
            (
                "status=FINISHED\n",
                "backup.info line 1 (status): invalid status 'FINISHED' (expected one of EMPTY, STARTED, FAILED, WAITING_FOR_WALS, DONE, SYNCING)"
            ),
            ("status=DONE\njust some text\n", "backup.info line 2: invalid line 'just some text' (no '=')"),
            ("=DONE\n", "backup.info line 1: empty key"),
            ("version=16.2\n", "backup.info line 1 (version): invalid integer '16.2'"),
            (
                "snapshots_info={'provider': 'aws', 'snapshots': [\n",
                "backup.info line 1 (snapshots_info): invalid python literal at offset 34: unexpected end of input, expected a value"
            ),
            ("backup_label='START WAL\n", "backup.info line 1 (backup_label): invalid python literal at offset 0: unterminated string"),
            ("backup_label=42\n", "backup.info line 1 (backup_label): expected a str, found 42"),
            (
                "tablespaces=[('tbs', 'x', '/t')]\n",
                "backup.info line 1 (tablespaces): tablespaces[0]: expected (name, oid, location), found ('tbs', 'x', '/t')"
            ),
            ("end_time=yesterday\n", "backup.info line 1 (end_time): invalid timestamp 'yesterday' at offset 0: expected 4 digits for the year"),
            (
                "snapshots_info={'provider': 'ibm', 'snapshots': []}\n",
                "backup.info line 1 (snapshots_info): Unsupported snapshot provider in backup info: ibm"
            ),
        ])
    func corrupt(text: String, message: String) {
        let error = #expect(throws: SnapfleetError.self) { try BackupInfo(decoding: text) }
        #expect(error?.code == .invalidBody)
        #expect(error?.message == message)
    }

    @Test("absurdly nested or oversized literals and invalid UTF-8 are refused, not crashed on")
    func hostileInput() {
        let deep = "copy_stats=" + String(repeating: "{'a': ", count: 10_000) + "1" + String(repeating: "}", count: 10_000) + "\n"
        let error = #expect(throws: SnapfleetError.self) { try BackupInfo(decoding: deep) }
        #expect(error?.message.hasPrefix("backup.info line 1 (copy_stats): invalid python literal at offset") == true)
        #expect(error?.message.hasSuffix("nesting deeper than 64 levels") == true)
        #expect(throws: SnapfleetError.self) { try BackupInfo(decoding: [0x73, 0x3D, 0xFF, 0x0A]) }
        #expect(throws: SnapfleetError.self) { try BackupInfo(decoding: [UInt8](repeating: 0x20, count: BackupInfo.maxFileSize + 1)) }
    }

    @Test("a value with a line break cannot be written")
    func lineBreakRefused() {
        var info = BackupInfo(status: .failed)
        info.error = "failure uploading data (first\nsecond)"
        let error = #expect(throws: SnapfleetError.self) { try info.encoded() }
        #expect(error?.message == "backup.info field 'error' cannot be written: its value contains a line break")
        info.error = nil
        info.additionalFields["status"] = "DONE"
        #expect(throws: SnapfleetError.self) { try info.encoded() }
    }

    @Test("a backup_label with quotes and control characters survives repr and literal_eval")
    func labelWithOddCharacters() throws {
        var info = BackupInfo(status: .done)
        info.backupLabel = "LABEL: it's \"x\"\tback\\slash\u{1}\n"
        let text = try info.encoded()
        #expect(text.hasPrefix(#"backup_label='LABEL: it\'s "x"\tback\\slash\x01\n'"# + "\n"))
        #expect(try BackupInfo(decoding: text) == info)
    }
}
