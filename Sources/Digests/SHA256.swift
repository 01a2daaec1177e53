import COpenSSL

/// SHA-256 (FIPS 180-4): `SHA256.hash(bytes)` in one call, or an instance to stream large inputs.
///
/// An instance owns an OpenSSL digest context and must not be shared across threads.
public final class SHA256: HashFunction {
    private let context: EVPDigestContext

    /// Starts a new hash.
    public init() throws(DigestError) {
        context = try EVPDigestContext(name: "sha256") { EVP_sha256() }
    }

    /// Adds raw bytes to the hash.
    public func update(bufferPointer: UnsafeRawBufferPointer) throws(DigestError) {
        try context.update(bufferPointer)
    }

    /// Returns the 32-byte digest of everything added so far and starts over.
    public func finalize() throws(DigestError) -> Digest {
        try context.finalize()
    }
}
