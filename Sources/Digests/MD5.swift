import COpenSSL

/// MD5, only for S3's `Content-MD5` integrity header (never for security).
///
/// An instance owns an OpenSSL digest context and must not be shared across threads.
public final class MD5: HashFunction {
    private let context: EVPDigestContext

    /// Starts a new hash.
    public init() throws(DigestError) {
        context = try EVPDigestContext(name: "md5") { EVP_md5() }
    }

    /// Adds raw bytes to the hash.
    public func update(bufferPointer: UnsafeRawBufferPointer) throws(DigestError) {
        try context.update(bufferPointer)
    }

    /// Returns the 16-byte digest of everything added so far and starts over.
    public func finalize() throws(DigestError) -> Digest {
        try context.finalize()
    }
}
