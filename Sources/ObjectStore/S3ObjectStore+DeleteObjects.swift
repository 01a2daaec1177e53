import AWSSigning
import CloudXML
import Digests
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension S3ObjectStore {
    /// `DeleteObjects` (POST `?delete`, quiet mode): up to 1,000 keys in one request; S3 requires
    /// its Content-MD5. The reply names only the keys that failed.
    public func delete(keys: [String]) throws(SnapfleetError) -> [(key: String, reason: String)] {
        guard !keys.isEmpty else { return [] }
        guard keys.count <= 1000 else {
            throw SnapfleetError(.internalError, "DeleteObjects takes at most 1000 keys, not \(keys.count)")
        }
        for key in keys { try ObjectKey.validate(key) }
        let document = Array(Self.deleteDocument(keys).utf8)
        let md5: Digest
        do { md5 = try MD5.hash(document) } catch { throw SnapfleetError(.internalError, "cannot hash the delete request: \(error)") }
        let headers = [HeaderField("Content-Type", "application/xml"), HeaderField("Content-MD5", Data(md5.bytes).base64EncodedString())]
        let call = S3Call(
            verb: "delete objects", key: nil, method: .post, headers: headers, payload: .bytes(document), body: .bytes(document),
            query: [QueryItem(name: "delete", value: "")])
        let response = try send(call)
        try check(response, call)
        let tree: XMLTree
        do { tree = try XMLTree.parse(response.body) } catch {
            throw SnapfleetError(.httpError, "s3 delete objects returned a reply that is not XML: \(error.message)")
        }
        if tree.name == "Error" {
            var failed = response
            failed.status = 500
            throw self.error(S3ErrorResponse(failed), call)
        }
        return tree.children("Error").compactMap { error in
            guard let key = error.value("Key") else { return nil }
            let code = error.value("Code") ?? "unknown"
            return (key, "\(code): \(error.value("Message") ?? "")")
        }
    }

    /// `<Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete>`.
    static func deleteDocument(_ keys: [String]) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            + keys.map { "<Object><Key>\(XMLText.escaped($0))</Key></Object>" }.joined() + "</Delete>"
    }
}

/// Text escaped for an XML element's content.
enum XMLText {
    /// `&`, `<`, `>`, quotes and apostrophes as entities.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
