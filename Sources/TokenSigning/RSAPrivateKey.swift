import COpenSSL
import Digests
import SnapfleetCore

/// An RSA private key read from PEM, for RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256): the
/// algorithm of Google service-account JWTs, GCS V4 signed URLs and Entra ID client assertions.
///
/// Owns one `EVP_PKEY`, freed in `deinit`. The key is never printed: `description` names only its size.
public final class RSAPrivateKey: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: OpenSSL 3 documents an EVP_PKEY as safe to share between threads for read-only
    // use such as signing; each signature gets its own EVP_MD_CTX below.
    private let key: OpaquePointer

    /// Reads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM; an
    /// encrypted key, another algorithm or malformed text is refused without echoing it.
    public init(pem: String) throws(SnapfleetError) {
        let bytes = Array(pem.utf8)
        OpenSSLErrors.clear()
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            // A nil password callback with nil user data would prompt on a terminal for an encrypted
            // key: the empty-passphrase callback makes such a key fail instead.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let parsed else {
            throw SnapfleetError(
                .invalidConfiguration, "the private key is not a readable PEM key (\(OpenSSLErrors.capture("pem read").reason))",
                hint: "use an unencrypted PKCS#8 or PKCS#1 RSA key")
        }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else {
            EVP_PKEY_free(parsed)
            throw SnapfleetError(.invalidConfiguration, "the private key is not an RSA key", hint: "RS256 needs an RSA key")
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    /// The modulus size in bits.
    public var bits: Int { Int(EVP_PKEY_get_bits(key)) }

    /// `RSA private key (2048 bits)`: never the key.
    public var description: String { "RSA private key (\(bits) bits)" }

    /// The RS256 signature of `message`.
    public func signSHA256(_ message: [UInt8]) throws(SnapfleetError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw failure("rsa sign context") }
        defer { EVP_MD_CTX_free(context) }
        OpenSSLErrors.clear()
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { throw failure("rsa sign init") }
        var length = 0
        let signature: [UInt8]? = message.withUnsafeBufferPointer { input in
            guard EVP_DigestSign(context, nil, &length, input.baseAddress, input.count) == 1 else { return nil }
            var output = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &output, &length, input.baseAddress, input.count) == 1 else { return nil }
            return Array(output.prefix(length))
        }
        guard let signature else { throw failure("rsa sign") }
        return signature
    }

    /// An internal error carrying OpenSSL's text (never the key).
    private func failure(_ operation: String) -> SnapfleetError {
        SnapfleetError(.internalError, OpenSSLErrors.capture(operation).description)
    }
}
