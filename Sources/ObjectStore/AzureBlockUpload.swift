import Digests
import HTTPClient
import SnapfleetCore

extension AzureBlobObjectStore {
    /// A block blob put in pieces: each block with Put Block (its own Content-MD5), then Put Block
    /// List naming them in order, with the whole blob's MD5 as its stored MD5 and, for `ifAbsent`,
    /// `If-None-Match: *` (the blob appears, or is refused, only at that last call).
    func blockUpload(_ key: String, body: ObjectBody, size: Int64, ifAbsent: Bool) throws(SnapfleetError) {
        // Every id of one blob must have the same length; a random tag keeps this upload's blocks
        // apart from those an interrupted earlier one may have left uncommitted.
        let tag = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let paddedTag = String(repeating: "0", count: 16 - tag.count) + tag
        var ids: [String] = []
        let whole: MD5
        do { whole = try MD5() } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
        var offset: Int64 = 0
        while offset < size {
            let count = min(blockSize, size - offset)
            let chunk = try Self.chunk(of: body, offset: offset, count: Int(count))
            let index = String(ids.count)
            let id = Self.base64(Array("snapfleet-\(paddedTag)-\(String(repeating: "0", count: 6 - index.count) + index)".utf8))
            let call = AzureBlobCall(
                verb: "put", key: key, method: .put, path: blobPath(key), query: [("comp", "block"), ("blockid", id)],
                headers: [("Content-MD5", Self.base64(try Self.md5(chunk).bytes))], body: .bytes(chunk), bodyLength: count)
            try check(try send(call), call)
            do { try whole.update(chunk) } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
            ids.append(id)
            offset += count
        }
        let list = #"<?xml version="1.0" encoding="utf-8"?><BlockList>"# + ids.map { "<Latest>\($0)</Latest>" }.joined() + "</BlockList>"
        let digest: Digest
        do { digest = try whole.finalize() } catch { throw SnapfleetError(.internalError, "md5: \(error)") }
        var headers = [
            ("Content-Type", "application/xml"), ("x-ms-blob-content-type", "application/octet-stream"),
            ("x-ms-blob-content-md5", Self.base64(digest.bytes)),
        ]
        if ifAbsent { headers.append(("If-None-Match", "*")) }
        let commit = AzureBlobCall(
            verb: "put", key: key, method: .put, path: blobPath(key), query: [("comp", "blocklist")], headers: headers,
            body: .bytes(Array(list.utf8)), bodyLength: Int64(list.utf8.count))
        try check(try send(commit), commit, ifAbsent: ifAbsent)
    }

    /// `count` bytes of the body from `offset`.
    static func chunk(of body: ObjectBody, offset: Int64, count: Int) throws(SnapfleetError) -> [UInt8] {
        switch body {
        case .bytes(let bytes): return Array(bytes[Int(offset)..<Int(offset) + count])
        case .file(let path): return try PosixFiles.readRange(path, offset: offset, count: count)
        }
    }
}
