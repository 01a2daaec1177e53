import COpenSSL

/// HMAC-SHA256 (RFC 2104), the primitive of AWS SigV4 key derivation and signing.
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key` (pass `String.utf8` for text).
    public static func authenticate(
        message: some Sequence<UInt8>, key: some Sequence<UInt8>
    ) throws(DigestError) -> Digest {
        try withContiguousBytes(of: key) { key throws(DigestError) in
            try withContiguousBytes(of: message) { message throws(DigestError) in
                try mac(message: message, key: key)
            }
        }
    }

    /// Calls OpenSSL's one-shot `HMAC()` over two buffers.
    private static func mac(message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) throws(DigestError) -> Digest {
        guard key.count <= Int(Int32.max) else {
            throw DigestError(operation: "hmac-sha256", reason: "key longer than \(Int32.max) bytes")
        }
        // OpenSSL 3.0's HMAC() fails on a NULL key even with length 0, and an empty buffer's
        // base address may be NULL, so an empty key points at a dummy byte instead.
        var dummy: UInt8 = 0
        let keyAddress = key.baseAddress ?? withUnsafePointer(to: &dummy) { UnsafeRawPointer($0) }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        OpenSSLErrors.clear()
        let result = HMAC(
            EVP_sha256(), keyAddress, Int32(key.count),
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, &output, &length)
        guard result != nil else { throw OpenSSLErrors.capture("hmac-sha256") }
        return Digest(bytes: Array(output.prefix(Int(length))))
    }
}
