import Messaging
import SnapfleetCore

/// `keygen --out FILE`, shared by both programs.
public enum Keygen {
    /// Writes a new key pair to `path` (mode 0600, never over an existing file) and returns
    /// the public key to print.
    public static func run(out path: String) throws(SnapfleetError) -> CurvePublicKey {
        let pair = try CurveKeyPair.generate()
        try KeyFile.write(pair, to: path)
        return pair.publicKey
    }
}
