import CZeroMQ
import SnapfleetCore

/// A CURVE public key, as 40 characters of Z85 text.
public struct CurvePublicKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The Z85 text.
    public let z85: String

    /// Validates Z85 text that must decode to 32 bytes.
    public init(z85 text: String) throws(SnapfleetError) {
        guard CurveKeyText.isValid(text) else {
            throw SnapfleetError(.invalidKey, "a CURVE key must be 40 characters of Z85 text", hint: "use the public key printed by 'keygen'")
        }
        z85 = text
    }

    /// The raw 32-byte key (ZAP hands keys over in this form).
    public init(bytes: [UInt8]) throws(SnapfleetError) {
        guard bytes.count == 32 else { throw SnapfleetError(.invalidKey, "a CURVE key has 32 bytes") }
        var text = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&text, bytes, 32)
        z85 = String(cBuffer: text)
    }

    /// Decodes and validates the Z85 text.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(z85: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// Encodes the Z85 text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(z85)
    }

    /// The Z85 text (public keys are not secret).
    public var description: String { z85 }
}

/// A CURVE key pair; the secret half never appears in any printed form.
public struct CurveKeyPair: Sendable {
    /// The public key, shared with peers.
    public let publicKey: CurvePublicKey
    /// The secret key in Z85.
    public let secretKey: Redacted<String>

    /// Generates a new random key pair.
    public static func generate() throws(SnapfleetError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw zmqFailure("curve_keypair") }
        return CurveKeyPair(
            publicKey: try CurvePublicKey(z85: String(cBuffer: publicText)), secretKey: Redacted(String(cBuffer: secretText)))
    }

    /// The key pair of a secret key (the public key is derived from it).
    public init(secretZ85 secret: String) throws(SnapfleetError) {
        guard CurveKeyText.isValid(secret) else {
            throw SnapfleetError(.invalidKey, "the secret key must be 40 characters of Z85 text")
        }
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secret) == 0 else { throw zmqFailure("curve_public") }
        self.init(publicKey: try CurvePublicKey(z85: String(cBuffer: publicText)), secretKey: Redacted(secret))
    }

    private init(publicKey: CurvePublicKey, secretKey: Redacted<String>) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// Z85 text checks shared by public and secret keys.
enum CurveKeyText {
    /// Whether `text` is 40 characters that Z85-decode to 32 bytes.
    static func isValid(_ text: String) -> Bool {
        guard text.utf8.count == 40 else { return false }
        var bytes = [UInt8](repeating: 0, count: 32)
        return zmq_z85_decode(&bytes, text) != nil
    }
}
