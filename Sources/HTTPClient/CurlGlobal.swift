import CCurl

/// `curl_global_init` must run once per process before any other curl call, and is not
/// thread-safe in every libcurl build. A global `let` is initialised exactly once, lazily and
/// thread-safely, so reading it is the "once".
private let curlGlobalInitResult: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

/// Process-wide libcurl initialisation.
enum CurlGlobal {
    /// Initialises libcurl on first use; later calls return the first outcome.
    static func initialize() -> CURLcode { CURLcode(rawValue: curlGlobalInitResult) }
}
