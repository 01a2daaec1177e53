import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// The CURVE key file both programs use: the key pair as two `name: value` lines, mode 0600.
///
/// ```
/// # snapfleet CURVE key pair: keep this file secret
/// public: <40 Z85 characters>
/// secret: <40 Z85 characters>
/// ```
public enum KeyFile {
    /// Writes a new key file with mode 0600, refusing to replace an existing file (a lost key
    /// would cut an agent off from its controller).
    public static func write(_ pair: CurveKeyPair, to path: String) throws(SnapfleetError) {
        let text = "# snapfleet CURVE key pair: keep this file secret\npublic: \(pair.publicKey.z85)\nsecret: \(pair.secretKey.value)\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw SnapfleetError(
                .ioError, "\(path): cannot create key file: \(reason.lowercased())",
                hint: errno == EEXIST ? "remove it first if you really mean to replace the key" : nil)
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
            throw SnapfleetError(.ioError, "\(path): cannot write key file")
        }
    }

    /// Reads a key file, refusing one that others can read and one whose halves do not match.
    public static func read(_ path: String) throws(SnapfleetError) -> CurveKeyPair {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw SnapfleetError(
                .invalidKey, "\(path): cannot read key file: \(String(cString: strerror(errno)).lowercased())",
                hint: "create one with 'keygen --out \(path)'")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw SnapfleetError(.invalidKey, "\(path): key file is readable by group or others", hint: "chmod 600 \(path)")
        }
        let fields = try parse(try contents(of: path), path: path)
        guard let secret = fields["secret"] else { throw SnapfleetError(.invalidKey, "\(path): missing key 'secret'") }
        let pair: CurveKeyPair
        do { pair = try CurveKeyPair(secretZ85: secret) } catch {
            throw SnapfleetError(.invalidKey, "\(path): key 'secret' is not a valid CURVE secret key")
        }
        if let stated = fields["public"], stated != pair.publicKey.z85 {
            throw SnapfleetError(.invalidKey, "\(path): key 'public' does not belong to key 'secret'")
        }
        return pair
    }

    /// `name: value` lines; comments and blank lines are skipped; unknown names are refused.
    private static func parse(_ text: String, path: String) throws(SnapfleetError) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") && !line.allSatisfy(\.isWhitespace) {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: " \t\r") }
            guard parts.count == 2, ["public", "secret"].contains(parts[0]) else {
                throw SnapfleetError(.invalidKey, "\(path): unexpected line in key file (expected 'public:' and 'secret:')")
            }
            fields[parts[0]] = parts[1]
        }
        return fields
    }

    private static func contents(of path: String) throws(SnapfleetError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapfleetError(.invalidKey, "\(path): cannot open key file") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw SnapfleetError(.invalidKey, "\(path): cannot read key file") }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

extension Substring {
    /// The text without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(drop(while: { characters.contains($0) }).reversed().drop(while: { characters.contains($0) }).reversed())
    }
}
