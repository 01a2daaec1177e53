import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    /// `count` random bytes (for nonces, multipart tokens, test keys).
    public static func bytes(count: Int) throws(DigestError) -> [UInt8] {
        guard count >= 0, count <= Int(Int32.max) else {
            throw DigestError(operation: "random bytes", reason: "count \(count) out of range")
        }
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        OpenSSLErrors.clear()
        guard RAND_bytes(&output, Int32(count)) == 1 else { throw OpenSSLErrors.capture("random bytes") }
        return output
    }
}
