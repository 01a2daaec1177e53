import CCurl
import SnapfleetCore

extension HTTPConnection {
    /// Resets the handle (keeping its open connections) and sets every option for `request`.
    func configure(_ request: HTTPRequest, headers: CurlHeaderList, transfer: Transfer) throws {
        curl_easy_reset(handle)
        try set(CURLOPT_ERRORBUFFER, pointer: errorBuffer)
        // Without NOSIGNAL, curl's timeouts use SIGALRM, which is unsafe in a threaded process.
        try set(CURLOPT_NOSIGNAL, 1)
        // A URL taken from configuration must not reach file://, ftp:// or other schemes.
        try set(CURLOPT_PROTOCOLS_STR, string: "http,https")
        try set(CURLOPT_URL, string: request.url)
        try set(CURLOPT_USERAGENT, string: "snapfleet/\(snapfleetVersion)")
        try set(CURLOPT_HTTPHEADER, pointer: headers.head)
        try set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
        try set(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout))
        // Bodies are mostly 16 MiB WAL segments: pieces of 512 KiB rather than curl's default 16 KiB
        // (download) and 64 KiB (upload) take a thirtieth of the callbacks and write calls.
        try set(CURLOPT_BUFFERSIZE, 512 << 10)
        try set(CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)
        try setMethod(request.method, bodyLength: transfer.source?.length)
        try installCallbacks(for: transfer)
    }

    /// Chooses the method and, for a body, how curl sends it and its declared length.
    private func setMethod(_ method: HTTPMethod, bodyLength: Int64?) throws {
        switch (method, bodyLength) {
        case (.get, nil): try set(CURLOPT_HTTPGET, 1)
        case (.head, nil): try set(CURLOPT_NOBODY, 1)
        case (.get, _?), (.head, _?):
            throw SnapfleetError(.httpError, "http \(method.rawValue.lowercased()) request cannot carry a body")
        case (.post, let length):
            try set(CURLOPT_POST, 1)
            try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: length ?? 0)
        case (.put, let length):
            try set(CURLOPT_UPLOAD, 1)
            try set(CURLOPT_INFILESIZE_LARGE, offset: length ?? 0)
        case (.delete, nil):
            try set(CURLOPT_CUSTOMREQUEST, string: method.rawValue)
        case (.delete, let length?), (.patch, let length?):
            try set(CURLOPT_UPLOAD, 1)
            try set(CURLOPT_INFILESIZE_LARGE, offset: length)
            try set(CURLOPT_CUSTOMREQUEST, string: method.rawValue)
        case (.patch, nil):
            try set(CURLOPT_CUSTOMREQUEST, string: method.rawValue)
        }
    }

    /// A duration as whole milliseconds, at least 1 (0 would mean "no timeout" to curl).
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int.max }
        return max(1, Int(total.partialValue + attoseconds / 1_000_000_000_000_000))
    }

    /// Sets a long option.
    func set(_ option: CURLoption, _ value: Int) throws {
        try check(snapfleet_curl_setopt_long(handle, option, value), option)
    }

    /// Sets a pointer option.
    func set(_ option: CURLoption, pointer: UnsafeRawPointer?) throws {
        try check(snapfleet_curl_setopt_pointer(handle, option, pointer), option)
    }

    /// Sets a string option (curl copies it).
    func set(_ option: CURLoption, string: String) throws {
        try check(string.withCString { snapfleet_curl_setopt_pointer(handle, option, $0) }, option)
    }

    /// Sets a curl_off_t option.
    func set(_ option: CURLoption, offset: Int64) throws {
        try check(snapfleet_curl_setopt_off(handle, option, curl_off_t(offset)), option)
    }

    /// Turns a refused option into an error (an option this libcurl lacks, out of memory).
    func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            throw SnapfleetError(.internalError, "curl option \(option.rawValue) refused: \(text)")
        }
    }
}
