import AWSSigning
import CloudXML
import HTTPClient
import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Multipart uploads: create, upload each part, complete; abort on any failure so that no
/// invisible parts are left to be billed.
extension S3ObjectStore {
    /// Uploads `body` in parts of `options.partSize`.
    func multipartUpload(_ key: String, body: ObjectBody, size: Int64, ifAbsent: Bool) throws(SnapfleetError) {
        // A cheap early refusal; the conditional Complete below is what makes it atomic on AWS.
        if ifAbsent, try head(key) != nil {
            throw SnapfleetError(.alreadyExists, "s3 put s3://\(bucket)/\(ObjectKey.printable(key)) refused: the object already exists")
        }
        let uploadID = try createMultipartUpload(key)
        do throws(SnapfleetError) {
            var etags: [String] = []
            for (index, offset) in stride(from: Int64(0), to: size, by: Int(partSize(for: size))).enumerated() {
                let bytes = try partBytes(body, offset: offset, count: Int(min(partSize(for: size), size - offset)))
                etags.append(try uploadPart(key, uploadID: uploadID, number: index + 1, bytes: bytes))
            }
            try completeMultipartUpload(key, uploadID: uploadID, etags: etags, ifAbsent: ifAbsent)
        } catch {
            abortMultipartUpload(key, uploadID: uploadID)
            throw error
        }
    }

    /// The part size, grown when needed to stay within S3's 10 000 parts.
    func partSize(for size: Int64) -> Int64 {
        max(options.partSize, (size + 9_999) / 10_000)
    }

    /// POST `?uploads`: the upload id.
    private func createMultipartUpload(_ key: String) throws(SnapfleetError) -> String {
        let call = S3Call(
            verb: "create multipart upload", key: key, method: .post, headers: Self.putHeaders(ifAbsent: false),
            query: [QueryItem(name: "uploads", value: nil)])
        let response = try send(call)
        try check(response, call)
        guard let uploadID = try XMLTree.parse(response.body).value("UploadId"), !uploadID.isEmpty else {
            throw SnapfleetError(.httpError, "s3 create multipart upload \(location(call)) returned no upload id")
        }
        return uploadID
    }

    /// PUT `?partNumber=N&uploadId=…`: the part's entity tag.
    private func uploadPart(_ key: String, uploadID: String, number: Int, bytes: [UInt8]) throws(SnapfleetError) -> String {
        let call = S3Call(
            verb: "upload part \(number)", key: key, method: .put, payload: .bytes(bytes), body: .bytes(bytes),
            query: [QueryItem(name: "partNumber", value: String(number)), QueryItem(name: "uploadId", value: uploadID)])
        let response = try send(call)
        try check(response, call)
        guard let etag = response.headers["ETag"], !etag.isEmpty else {
            throw SnapfleetError(.httpError, "s3 upload part \(number) of \(location(call)) returned no etag")
        }
        return etag
    }

    /// POST `?uploadId=…` with the parts list; S3 may answer 200 with an error document.
    private func completeMultipartUpload(_ key: String, uploadID: String, etags: [String], ifAbsent: Bool) throws(SnapfleetError) {
        let document = Array(Self.completionXML(etags).utf8)
        var headers = [HeaderField("Content-Type", "application/xml")]
        if ifAbsent { headers.append(HeaderField("If-None-Match", "*")) }
        let call = S3Call(
            verb: "complete multipart upload", key: key, method: .post, headers: headers, payload: .bytes(document),
            body: .bytes(document), query: [QueryItem(name: "uploadId", value: uploadID)])
        let response = try send(call)
        try check(response, call, ifAbsent: ifAbsent)
        // A 200 reply can still carry <Error> when S3 failed after sending the status line.
        if (try? XMLTree.parse(response.body))?.name == "Error" {
            var failed = response
            failed.status = 500
            throw error(S3ErrorResponse(failed), call, ifAbsent: ifAbsent)
        }
    }

    /// DELETE `?uploadId=…`, best effort: the original failure is what the caller needs to see.
    private func abortMultipartUpload(_ key: String, uploadID: String) {
        let call = S3Call(
            verb: "abort multipart upload", key: key, method: .delete, query: [QueryItem(name: "uploadId", value: uploadID)])
        _ = try? send(call)
    }

    /// `count` bytes of the body from `offset`.
    private func partBytes(_ body: ObjectBody, offset: Int64, count: Int) throws(SnapfleetError) -> [UInt8] {
        switch body {
        case .bytes(let bytes): return Array(bytes[Int(offset)..<Int(offset) + count])
        case .file(let path): return try PosixFiles.readRange(path, offset: offset, count: count)
        }
    }

    /// `<CompleteMultipartUpload>` listing every part in order.
    static func completionXML(_ etags: [String]) -> String {
        let parts = etags.enumerated().map { index, etag in
            "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(xmlEscaped(etag))</ETag></Part>"
        }
        return "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + parts.joined() + "</CompleteMultipartUpload>"
    }

    /// Escapes the characters XML text may not contain (an ETag is quoted).
    private static func xmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
