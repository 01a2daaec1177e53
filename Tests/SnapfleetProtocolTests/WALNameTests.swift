import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("WAL file names on the wire: only what PostgreSQL archives, never a path")
struct WALNameTests {
    @Test(
        "accepted names",
        arguments: ["000000010000000A000000FF", "000000010000000A000000FF.partial", "000000010000000A000000FF.00000028.backup", "0000000A.history"])
    func accepted(name: String) throws {
        try Wire.checkWALArchiveName(name, field: "name")
    }

    @Test(
        "refused names",
        arguments: [
            "", "../etc/passwd", "000000010000000a000000ff", "000000010000000A000000F", "000000010000000A000000FF.gz",
            "000000010000000A000000FF.0000002.backup", "0000000A.History", "pg_wal/000000010000000A000000FF", "000000010000000A000000FF\n",
        ])
    func refused(name: String) {
        #expect(throws: SnapfleetError.self) { try Wire.checkWALArchiveName(name, field: "name") }
    }

    @Test("wal_push paths must be absolute and end in a WAL file name")
    func pushPaths() throws {
        try WALPush(path: "/var/lib/postgresql/15/main/pg_wal/000000010000000000000003").validate()
        for bad in ["pg_wal/000000010000000000000003", "/var/lib/pg_wal/000000010000000000000003/", "/etc/passwd"] {
            #expect(throws: SnapfleetError.self, "\(bad)") { try WALPush(path: bad).validate() }
        }
    }

    @Test("a WAL URL prints without its signature")
    func urlDescription() {
        let url = WALURL(
            name: "000000010000000000000003", key: "pg1/wals/0000000100000000/000000010000000000000003", method: "PUT",
            url: "https://b.s3.amazonaws.com/k?X-Amz-Signature=secret", headers: ["if-none-match": "*"], expiresAt: "2026-11-26T00:00:00Z")
        #expect(!url.description.contains("secret"))
        #expect(url.description == "PUT pg1/wals/0000000100000000/000000010000000000000003 (expires 2026-11-26T00:00:00Z)")
    }
}
