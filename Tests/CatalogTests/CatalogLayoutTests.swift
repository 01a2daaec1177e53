import Catalog
import SnapfleetCore
import Testing

@Suite("CatalogLayout")
struct CatalogLayoutTests {
    let id = BackupID(rawValue: "20240315T021500")!

    @Test(
        "root is os.path.join(path, server)",
        arguments: [("cluster", "cluster/pg1"), ("", "pg1"), ("cluster/", "cluster/pg1"), ("a/b//", "a/b//pg1"), ("a/b", "a/b/pg1")])
    func root(path: String, expected: String) throws {
        #expect(try CatalogLayout(path: path, server: "pg1").root == expected)
    }

    @Test("keys of every kind of object")
    func keys() throws {
        let layout = try CatalogLayout(path: "cluster", server: "pg1")
        #expect(layout.basePrefix == "cluster/pg1/base/")
        #expect(layout.walsPrefix == "cluster/pg1/wals/")
        #expect(layout.backupInfoKey(id) == "cluster/pg1/base/20240315T021500/backup.info")
        #expect(layout.backupLabelKey(id) == "cluster/pg1/base/20240315T021500/backup_label")
        #expect(layout.keepAnnotationKey(id) == "cluster/pg1/base/20240315T021500/annotations/keep")
        let segment = WALFile(name: "0000000100000003000000A2")!
        #expect(layout.walKey(segment) == "cluster/pg1/wals/0000000100000003/0000000100000003000000A2")
        #expect(layout.walKey(segment, compression: .zstd) == "cluster/pg1/wals/0000000100000003/0000000100000003000000A2.zst")
        #expect(
            layout.walKey(WALFile(name: "0000000100000003000000A2.partial")!, compression: .gzip)
                == "cluster/pg1/wals/0000000100000003/0000000100000003000000A2.partial.gz")
        #expect(
            layout.walKey(WALFile(name: "000000010000000000000006.00000028.backup")!)
                == "cluster/pg1/wals/0000000100000000/000000010000000000000006.00000028.backup")
        #expect(layout.walKey(WALFile(name: "00000002.history")!) == "cluster/pg1/wals/00000002.history")
    }

    @Test("with an empty path every key starts at the server name")
    func emptyPath() throws {
        let layout = try CatalogLayout(path: "", server: "pg1")
        #expect(layout.backupInfoKey(id) == "pg1/base/20240315T021500/backup.info")
        #expect(layout.walKey(WALFile(name: "00000002.history")!, compression: .bzip2) == "pg1/wals/00000002.history.bz2")
    }

    @Test("a trailing slash in the path does not double the separator")
    func trailingSlash() throws {
        let layout = try CatalogLayout(path: "cluster/", server: "pg1")
        #expect(layout.backupLabelKey(id) == "cluster/pg1/base/20240315T021500/backup_label")
    }

    @Test("keys parse back into what they are")
    func parse() throws {
        let layout = try CatalogLayout(path: "cluster", server: "pg1")
        let segment = WALFile(name: "0000000100000003000000A2")!
        #expect(layout.object(forKey: layout.backupInfoKey(id)) == .backupInfo(id))
        #expect(layout.object(forKey: layout.backupLabelKey(id)) == .backupLabel(id))
        #expect(layout.object(forKey: layout.keepAnnotationKey(id)) == .annotation(id, name: "keep"))
        #expect(layout.object(forKey: "cluster/pg1/base/20240315T021500/data.tar.gz") == .backupFile(id, name: "data.tar.gz"))
        for compression in [nil] + WALCompression.allCases {
            #expect(layout.object(forKey: layout.walKey(segment, compression: compression)) == .wal(segment, compression: compression))
        }
        let history = WALFile(name: "00000002.history")!
        #expect(layout.object(forKey: "cluster/pg1/wals/00000002.history.gz") == .wal(history, compression: .gzip))
        #expect(layout.object(forKey: "cluster/pg1/wals/0000000100000003/0000000100000003000000A2.something") == nil)
        #expect(layout.object(forKey: "cluster/pg1/wals/0000000100000003/0000000100000003000000A2.gz.gz") == nil)
        #expect(layout.object(forKey: "cluster/pg1/base/not-an-id/backup.info") == nil)
        #expect(layout.object(forKey: "cluster/pg1/base/20240315T021500/") == nil)
        #expect(layout.object(forKey: "cluster/pg2/base/20240315T021500/backup.info") == nil)
        #expect(layout.object(forKey: "cluster/pg10/base/20240315T021500/backup.info") == nil)
    }

    @Test("server names that would escape the prefix are refused", arguments: ["", ".", "..", "a/b", "/abs"])
    func badServer(server: String) {
        let error = #expect(throws: SnapfleetError.self) { try CatalogLayout(path: "cluster", server: server) }
        #expect(error?.code == .invalidBody)
    }

    @Test("compression extensions are barman's")
    func extensions() {
        #expect(WALCompression.allCases.map(\.fileExtension) == [".gz", ".bz2", ".xz", ".snappy", ".zst", ".lz4"])
        #expect(TarCompression.allCases.map(\.fileExtension) == [".tar", ".tar.gz", ".tar.bz2", ".tar.snappy"])
        #expect(WALCompression(fileExtension: ".zst") == .zstd && WALCompression(fileExtension: ".zstd") == nil)
    }
}
