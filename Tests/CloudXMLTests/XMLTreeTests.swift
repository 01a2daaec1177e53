import CloudXML
import SnapfleetCore
import Testing

@Suite("XMLTree: cloud API responses as trees")
struct XMLTreeTests {
    @Test("an EC2-style response is navigable by local names, namespaces ignored")
    func ec2Response() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CreateSnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
              <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
              <snapshotId>snap-1234567890abcdef0</snapshotId>
              <status>pending</status>
              <tagSet><item><key>Name</key><value>pgdata-20261125t203123</value></item></tagSet>
            </CreateSnapshotResponse>
            """
        let tree = try XMLTree.parse(Array(xml.utf8))
        #expect(tree.name == "CreateSnapshotResponse")
        #expect(tree.value("snapshotId") == "snap-1234567890abcdef0")
        #expect(tree.descendant(["tagSet", "item"])?.value("value") == "pgdata-20261125t203123")
        #expect(tree.children("tagSet").count == 1)
        #expect(tree.value("missing") == nil)
    }

    @Test("text with entities is decoded")
    func entities() throws {
        let tree = try XMLTree.parse(Array("<Error><Message>a &lt; b &amp; c</Message></Error>".utf8))
        #expect(tree.value("Message") == "a < b & c")
    }

    @Test("malformed XML is an error, not a crash")
    func malformed() {
        for text in ["", "<a>", "<a></b>", "not xml", "<a>" + String(repeating: "<b>", count: 100) + String(repeating: "</b>", count: 100) + "</a>"] {
            #expect(throws: SnapfleetError.self, "\(text.prefix(20))") { try XMLTree.parse(Array(text.utf8)) }
        }
    }
}
