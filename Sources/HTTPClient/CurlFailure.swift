import CCurl
import SnapfleetCore

/// Maps a failed `curl_easy_perform` to a `SnapfleetError`.
enum CurlFailure {
    /// `.httpError` naming the method and the printable URL (never its query), with curl's
    /// error-buffer text (or its generic text for `code`).
    static func error(_ code: CURLcode, detail: String, request: HTTPRequest) -> SnapfleetError {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let message = "\(subject(request)) failed: \(SafeURL.scrub(text, url: request.url)) (curl error \(code.rawValue))"
        return SnapfleetError(.httpError, message, retryable: isRetryable(code))
    }

    /// An error raised by snapfleet itself during the transfer, given the request's context.
    static func wrap(_ failure: SnapfleetError, request: HTTPRequest) -> SnapfleetError {
        var wrapped = failure
        wrapped.message = "\(subject(request)) failed: \(failure.message)"
        return wrapped
    }

    /// `http put http://host/path`, safe to print.
    static func subject(_ request: HTTPRequest) -> String {
        "http \(request.method.rawValue.lowercased()) \(SafeURL.printable(request.url))"
    }

    /// Whether the same request may succeed later: network trouble and timeouts yes; bad URLs,
    /// certificate failures, refused protocols and local errors no.
    static func isRetryable(_ code: CURLcode) -> Bool {
        switch code {
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
            CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
            CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3:
            true
        default:
            false
        }
    }
}
