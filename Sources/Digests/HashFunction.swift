/// A streaming hash function (`SHA256`, `MD5`): feed bytes with `update`, read the digest
/// with `finalize`.
///
/// Instances own an OpenSSL context and must not be shared across threads.
public protocol HashFunction: AnyObject {
    /// Starts a new hash.
    init() throws(DigestError)
    /// Adds raw bytes to the hash.
    func update(bufferPointer: UnsafeRawBufferPointer) throws(DigestError)
    /// Returns the digest of everything added so far and starts over.
    func finalize() throws(DigestError) -> Digest
}

extension HashFunction {
    /// Adds bytes (`[UInt8]`, `Data`, a slice, a `String`'s `utf8`) to the hash.
    public func update(_ bytes: some Sequence<UInt8>) throws(DigestError) {
        try withContiguousBytes(of: bytes) { buffer throws(DigestError) in try update(bufferPointer: buffer) }
    }

    /// Adds a string's UTF-8 bytes to the hash.
    public func update(_ string: String) throws(DigestError) {
        try update(string.utf8)
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: some Sequence<UInt8>) throws(DigestError) -> Digest {
        let hasher = try Self()
        try hasher.update(bytes)
        return try hasher.finalize()
    }

    /// The digest of a string's UTF-8 bytes in one call.
    public static func hash(_ string: String) throws(DigestError) -> Digest {
        try hash(string.utf8)
    }
}
