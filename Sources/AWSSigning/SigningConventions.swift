/// Where services differ in SigV4: S3 signs the path as sent and names its payload hash in a
/// header; every other service normalizes the path and encodes it a second time.
public struct SigningConventions: Sendable, Hashable {
    /// Remove `.` and `..` segments and repeated slashes before encoding (all services but S3).
    public var normalizesPath: Bool
    /// Percent-encode the already-encoded path once more, so `%3A` signs as `%253A` (all
    /// services but S3); when false, the path's escapes are only put in canonical form.
    public var encodesPathTwice: Bool
    /// Send `x-amz-content-sha256`, allow `UNSIGNED-PAYLOAD`, and presign with it (S3).
    public var usesS3Payload: Bool

    /// Creates conventions flag by flag.
    public init(normalizesPath: Bool, encodesPathTwice: Bool, usesS3Payload: Bool) {
        self.normalizesPath = normalizesPath
        self.encodesPathTwice = encodesPathTwice
        self.usesS3Payload = usesS3Payload
    }

    /// EC2, STS and the other non-S3 services.
    public static let standard = SigningConventions(normalizesPath: true, encodesPathTwice: true, usesS3Payload: false)

    /// Amazon S3 (and S3-compatible stores).
    public static let s3 = SigningConventions(normalizesPath: false, encodesPathTwice: false, usesS3Payload: true)

    /// The conventions of a service by its signing name: `.s3` for `s3`, else `.standard`.
    public static func forService(_ service: String) -> SigningConventions {
        service == "s3" ? .s3 : .standard
    }
}
