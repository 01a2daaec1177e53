import Foundation
import ObjectStore
import SnapfleetCore
import Testing

/// The paged listing every cloud store is checked with (its server set to 7 entries a page).
enum ListingPages {
    /// Seventeen WAL keys: three pages.
    static let walKeys = (0..<17).map { String(format: "pg2/wals/0000000100000000/%024d", $0) }

    /// Stores the WAL keys and two backups' `backup.info` under `pg2/`, then checks that the WAL
    /// comes in three pages, in order, and that the backups group by the delimiter.
    static func check(_ store: some ObjectStore) throws {
        for (index, key) in walKeys.enumerated() { try store.put(key, body: .bytes([UInt8(index)])) }
        for id in ["20261201T000000", "20261202T000000"] { try store.put("pg2/base/\(id)/backup.info", body: .bytes([1])) }
        var pages = 0
        var keys: [String] = []
        try store.forEachPage(prefix: "pg2/wals/", delimiter: nil) { page in
            pages += 1
            keys += page.keys
            return true
        }
        #expect(pages == 3)
        #expect(keys == walKeys)
        let grouped = try store.list(prefix: "pg2/base/", delimiter: "/")
        #expect(grouped.commonPrefixes == ["pg2/base/20261201T000000/", "pg2/base/20261202T000000/"])
        #expect(grouped.objects.isEmpty)
    }
}
