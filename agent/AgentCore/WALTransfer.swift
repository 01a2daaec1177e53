import Digests
import Foundation
import HTTPClient
import SnapfleetCore
import SnapfleetProtocol

/// Moves one WAL object with one presigned URL: the only way the agent talks to object storage.
///
/// Not thread-safe (one libcurl handle, kept alive between requests): one per worker thread, or
/// one around a connection lent by an `HTTPConnectionPool`.
final class WALTransfer {
    private let connection: HTTPConnection

    /// What a PUT came to.
    enum PutOutcome: Equatable {
        /// Stored (2xx): durable in the object store.
        case stored
        /// An object is already there (the URL can never replace it): 412 from S3 and GCS, 409
        /// `BlobAlreadyExists` from Azure.
        case exists
        /// 403: the URL expired or was refused; ask for a new one.
        case refused(String)
        /// 5xx, 429 or no answer: try again later.
        case retryable(String)
    }

    /// A transfer with its own connection.
    convenience init() throws(SnapfleetError) {
        self.init(connection: try HTTPConnection())
    }

    /// A transfer over `connection` (one lent by a pool, say).
    init(connection: HTTPConnection) {
        self.connection = connection
    }

    /// PUTs `body` with the URL's signed headers and `Content-MD5`, so the store checks the bytes.
    func put(_ body: [UInt8], md5: [UInt8], with url: WALURL) -> PutOutcome {
        put(.bytes(body), md5: md5, with: url)
    }

    private func put(_ body: HTTPRequest.Body, md5: [UInt8], with url: WALURL) -> PutOutcome {
        var headers = url.headers.map { ($0.key, $0.value) }
        headers.append(("Content-MD5", Data(md5).base64EncodedString()))
        switch perform(HTTPRequest(method: .put, url: url.url, headers: HTTPHeaders(headers), body: body, timeout: .seconds(120))) {
        case .failure(let error): return .retryable(error.message)
        case .success(let response) where response.isSuccess: return .stored
        case .success(let response) where response.status == 412: return .exists
        case .success(let response) where response.status == 409 && response.headers["x-ms-error-code"] == "BlobAlreadyExists": return .exists
        case .success(let response) where response.status == 403: return .refused(Self.summary(response))
        case .success(let response): return .retryable(Self.summary(response))
        }
    }

    /// The stored object's MD5 in hex, via a HEAD URL, as each store reports it: Azure's
    /// `Content-MD5` (base64), GCS's `x-goog-hash: md5=` (base64), else the ETag (S3's and GCS's
    /// ETag of a single-part upload is its MD5 in hex). Nil when there is no object.
    func storedMD5(with url: WALURL) throws(SnapfleetError) -> String? {
        let response = try perform(HTTPRequest(method: .head, url: url.url, timeout: .seconds(30))).get()
        guard response.isSuccess else {
            if response.status == 404 { return nil }
            throw SnapfleetError(.httpError, "HEAD \(url.key): \(Self.summary(response))", retryable: response.status >= 500)
        }
        return Self.md5Hex(of: response.headers)
    }

    /// The MD5 a HEAD answer states, in hex (see `storedMD5(with:)`); nil when it states none.
    static func md5Hex(of headers: HTTPHeaders) -> String? {
        let googleHashes = headers.values(for: "x-goog-hash").flatMap { $0.split(separator: ",") }
        let base64 =
            headers["Content-MD5"]
            ?? googleHashes.map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("md5=") }.map { String($0.dropFirst(4)) }
        if let base64, let bytes = Data(base64Encoded: base64), bytes.count == 16 { return Hex.lowercase(bytes) }
        return headers.values(for: "ETag").first?.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// GETs an object, handing its body to `consumer` piece by piece as it arrives; false for 404
    /// (not in the archive under this key).
    func get(with url: WALURL, into consumer: (UnsafeRawBufferPointer) throws(SnapfleetError) -> Void) throws(SnapfleetError) -> Bool {
        let request = HTTPRequest(method: .get, url: url.url, timeout: .seconds(120))
        let response: HTTPResponse
        do { response = try connection.perform(request) { piece throws(SnapfleetError) in try consumer(piece) } } catch let error as SnapfleetError {
            throw error
        } catch {
            throw SnapfleetError(.ioError, "GET \(url.key): \(error)", retryable: true)
        }
        if response.status == 404 { return false }
        guard response.isSuccess else {
            throw SnapfleetError(.httpError, "GET \(url.key): \(Self.summary(response))", retryable: response.status >= 500 || response.status == 429)
        }
        return true
    }

    /// PUTs the file at `path` as it is, streamed from disk, with `Content-MD5` as `put(_:md5:with:)`.
    func put(file path: String, md5: [UInt8], with url: WALURL) -> PutOutcome {
        put(.file(path: path), md5: md5, with: url)
    }

    private func perform(_ request: HTTPRequest) -> Result<HTTPResponse, SnapfleetError> {
        do { return .success(try connection.perform(request)) } catch let error as SnapfleetError { return .failure(error) } catch {
            return .failure(SnapfleetError(.ioError, "\(error)", retryable: true))
        }
    }

    /// `<status> <S3 error code>`, never the URL (it is a capability).
    static func summary(_ response: HTTPResponse) -> String {
        let text = response.text
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex) else {
            return "HTTP \(response.status)"
        }
        return "HTTP \(response.status) \(text[start.upperBound..<end.lowerBound])"
    }
}
