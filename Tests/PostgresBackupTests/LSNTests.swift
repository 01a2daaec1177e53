import Foundation
import PostgresBackup
import TestSupport
import Testing

@Suite("LSN")
struct LSNTests {
    @Test("parses PostgreSQL's text form and prints it back the same way")
    func roundTrip() throws {
        for text in ["16/B374D848", "0/0", "0/1000028", "3/A2000028", "FFFFFFFF/FFFFFFFF", "1/0"] {
            let lsn = try #require(LSN(text))
            #expect(lsn.description == text)
        }
        #expect(LSN("16/B374D848")?.rawValue == 0x16_B374_D848)
    }

    @Test("accepts lower-case hex and leading zeros, printing the canonical form")
    func canonicalForm() {
        #expect(LSN("16/b374d848")?.description == "16/B374D848")
        #expect(LSN("00000016/0000000A")?.description == "16/A")
    }

    @Test("rejects text that is not a WAL location")
    func rejectsGarbage() {
        for text in ["", "16", "16/", "/1", "1/2/3", "123456789/0", "0/123456789", "G/0", " 1/0", "1/0 ", "-1/0", "+1/0"] {
            #expect(LSN(text) == nil, "\(text) should not parse")
        }
    }

    @Test("orders by position, not by text")
    func ordering() throws {
        let low = try #require(LSN("0/FFFFFFFF"))
        let high = try #require(LSN("1/0"))
        #expect(low < high)
        #expect(try #require(LSN("A/0")) > (try #require(LSN("9/FFFFFFFF"))))
    }

    @Test("encodes to and decodes from its text form in JSON")
    func codable() throws {
        let data = try JSONEncoder().encode(["start": LSN(rawValue: 0x16_B374_D848)])
        #expect(String(decoding: data, as: UTF8.self) == #"{"start":"16\/B374D848"}"#)
        let decoded = try JSONDecoder().decode([String: LSN].self, from: data)
        #expect(decoded["start"] == LSN(rawValue: 0x16_B374_D848))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([LSN].self, from: Data(#"["16-B3"]"#.utf8)) }
    }

    @Test("prints what the server prints for its own WAL positions")
    func matchesServer() throws {
        let cluster = try PostgresCluster.shared()
        let texts = try cluster.psql(
            "SELECT x::pg_lsn::text FROM unnest(ARRAY['0/0','A/B','16/B374D848', pg_current_wal_lsn()::text]) x")
        for text in texts.split(separator: "\n") {
            #expect(LSN(text)?.description == String(text))
        }
    }
}
