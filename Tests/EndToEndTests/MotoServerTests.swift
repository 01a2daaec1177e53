import TestSupport
import Testing

/// The AWS stand-in the cloud tests rely on really enforces signatures.
@Suite("moto with signing enforced", .requires(MotoServer.isAvailable, Comment(rawValue: MotoServer.requirement)))
struct MotoServerTests {
    @Test("the generated key is accepted and a wrong secret is refused")
    func signingIsEnforced() throws {
        let moto = try MotoServer.shared()
        let output = try moto.boto3(
            """
            s3.create_bucket(Bucket="moto-check")
            bad = boto3.client("s3", endpoint_url=_kw["endpoint_url"], region_name="us-east-1", aws_access_key_id=_kw["aws_access_key_id"], aws_secret_access_key="wrong")
            try:
                bad.list_objects_v2(Bucket="moto-check")
                print("accepted")
            except Exception as error:
                print(type(error).__name__, error.response["Error"]["Code"])
            """)
        #expect(output.contains("SignatureDoesNotMatch"), "\(output)")
    }
}
