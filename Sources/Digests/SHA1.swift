import COpenSSL

/// SHA-1 (FIPS 180-4), only where a protocol still names it: the `x5t` certificate thumbprint of
/// Entra ID client assertions. Never used for integrity.
public final class SHA1: HashFunction {
    private let context: EVPDigestContext

    /// Starts a new hash.
    public init() throws(DigestError) {
        context = try EVPDigestContext(name: "sha1") { EVP_sha1() }
    }

    /// Adds raw bytes to the hash.
    public func update(bufferPointer: UnsafeRawBufferPointer) throws(DigestError) {
        try context.update(bufferPointer)
    }

    /// Returns the 20-byte digest of everything added so far and starts over.
    public func finalize() throws(DigestError) -> Digest {
        try context.finalize()
    }
}
