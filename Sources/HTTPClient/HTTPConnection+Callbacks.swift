import CCurl

extension HTTPConnection {
    /// Points curl's header, write, read and seek callbacks at `transfer`.
    ///
    /// The callbacks are non-capturing closure literals (C function pointers); `transfer`
    /// travels as an unretained pointer, kept alive by `perform` for the whole transfer.
    func installCallbacks(for transfer: Transfer) throws {
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        try set(CURLOPT_HEADERDATA, pointer: context)
        try check(
            snapfleet_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                Transfer.from(context).receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
                return size * count
            }, CURLOPT_HEADERFUNCTION)
        try set(CURLOPT_WRITEDATA, pointer: context)
        try check(
            snapfleet_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
                // Returning fewer bytes than given makes curl stop with CURLE_WRITE_ERROR.
                return Transfer.from(context).receiveBody(bytes) ? size * count : 0
            }, CURLOPT_WRITEFUNCTION)
        guard transfer.source != nil else { return }
        try set(CURLOPT_READDATA, pointer: context)
        try check(
            snapfleet_curl_setopt_callback(handle, CURLOPT_READFUNCTION) { data, size, count, context in
                let buffer = UnsafeMutableRawBufferPointer(start: data, count: size * count)
                return Transfer.from(context).sendBody(into: buffer) ?? Int(CURL_READFUNC_ABORT)
            }, CURLOPT_READFUNCTION)
        try set(CURLOPT_SEEKDATA, pointer: context)
        try check(
            snapfleet_curl_setopt_seek_callback(handle) { context, offset, origin in
                // libcurl documents that it only ever passes SEEK_SET.
                guard origin == SEEK_SET else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
                return Transfer.from(context).rewindBody(to: Int64(offset)) ? Int32(CURL_SEEKFUNC_OK) : Int32(CURL_SEEKFUNC_FAIL)
            }, CURLOPT_SEEKFUNCTION)
    }
}

extension Transfer {
    /// The transfer behind a callback's context pointer.
    static func from(_ context: UnsafeMutableRawPointer?) -> Transfer {
        Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    }
}
