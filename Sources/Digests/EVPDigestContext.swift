import COpenSSL

/// Owns one `EVP_MD_CTX` for one algorithm; freed in `deinit`, never shared across threads.
final class EVPDigestContext {
    /// The algorithm's name, lowercase, for error messages.
    private let name: String
    /// Returns OpenSSL's static method table (`EVP_sha256`, `EVP_md5`).
    private let algorithm: () -> OpaquePointer?
    private let context: OpaquePointer
    /// Whether the context must be re-initialised before the next update (after `finalize`).
    private var needsInit = true

    /// Allocates a context for `algorithm`.
    init(name: String, algorithm: @escaping () -> OpaquePointer?) throws(DigestError) {
        OpenSSLErrors.clear()
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLErrors.capture("\(name) context allocation") }
        self.name = name
        self.algorithm = algorithm
        self.context = context
        try startIfNeeded()
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds bytes.
    func update(_ buffer: UnsafeRawBufferPointer) throws(DigestError) {
        try startIfNeeded()
        guard buffer.count > 0 else { return }
        OpenSSLErrors.clear()
        guard EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1 else {
            throw OpenSSLErrors.capture("\(name) update")
        }
    }

    /// Returns the digest and marks the context to start over on next use.
    func finalize() throws(DigestError) -> Digest {
        try startIfNeeded()
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        OpenSSLErrors.clear()
        guard EVP_DigestFinal_ex(context, &output, &length) == 1 else {
            needsInit = true
            throw OpenSSLErrors.capture("\(name) final")
        }
        needsInit = true
        return Digest(bytes: Array(output.prefix(Int(length))))
    }

    /// (Re)initialises the context for the algorithm when a new hash begins.
    private func startIfNeeded() throws(DigestError) {
        guard needsInit else { return }
        OpenSSLErrors.clear()
        guard EVP_DigestInit_ex(context, algorithm(), nil) == 1 else { throw OpenSSLErrors.capture("\(name) init") }
        needsInit = false
    }
}
