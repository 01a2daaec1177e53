import CCurl
import SnapfleetCore

// Not called `HTTPClient`: a type named like its module breaks qualified names such as
// `HTTPClient.HTTPRequest` in every module that imports it.
/// A blocking HTTP client over one libcurl easy handle.
///
/// Successive requests reuse the handle's connections (keep-alive), so keep one connection per
/// worker. It is not `Sendable`: use each one from one thread (or task) at a time.
/// Redirects are not followed: a signed request must not be replayed elsewhere.
public final class HTTPConnection {
    let handle: UnsafeMutableRawPointer
    /// curl writes its detailed error text here (`CURLOPT_ERRORBUFFER`).
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// Creates a connection; initialises libcurl for the process on first use.
    public init() throws(SnapfleetError) {
        let global = CurlGlobal.initialize()
        guard global == CURLE_OK else {
            throw SnapfleetError(.internalError, "curl_global_init failed: \(String(cString: curl_easy_strerror(global)))")
        }
        guard let handle = curl_easy_init() else {
            throw SnapfleetError(.internalError, "curl_easy_init failed")
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Sends `request` and returns the response, whatever its status; throws `SnapfleetError`
    /// (`.httpError`, `.ioError`) only when no complete response arrived.
    public func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        try perform(request, transfer: try Transfer(request: request))
    }

    /// Like `perform(_:)`, but a 2xx response's body is handed to `consumer` piece by piece as it
    /// arrives (never held whole); other statuses keep their error document in `body`. An error
    /// `consumer` throws aborts the transfer and is rethrown.
    public func perform(_ request: HTTPRequest, streamingBodyTo consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponse {
        // The transfer keeps the consumer only for the duration of this call.
        try withoutActuallyEscaping(consumer) { consumer in try perform(request, transfer: try Transfer(request: request, consumer: consumer)) }
    }

    private func perform(_ request: HTTPRequest, transfer: Transfer) throws -> HTTPResponse {
        let headerList = try CurlHeaderList(request.headers)
        let code = try withExtendedLifetime((headerList, transfer)) {
            try configure(request, headers: headerList, transfer: transfer)
            errorBuffer[0] = 0
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else { throw failure(code, transfer: transfer, request: request) }
        do {
            return try transfer.response(status: responseCode())
        } catch let error as SnapfleetError {
            transfer.abandon()
            throw CurlFailure.wrap(error, request: request)
        }
    }

    /// The error for a failed transfer: the callback's own if it aborted, else curl's.
    private func failure(_ code: CURLcode, transfer: Transfer, request: HTTPRequest) -> SnapfleetError {
        transfer.abandon()
        if let failure = transfer.failure { return CurlFailure.wrap(failure, request: request) }
        return CurlFailure.error(code, detail: String(cString: errorBuffer), request: request)
    }

    /// The final response's status code.
    private func responseCode() -> Int {
        var status = 0
        _ = snapfleet_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return status
    }
}
