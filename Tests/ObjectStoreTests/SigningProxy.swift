import Foundation
import SnapfleetCore
import TestSupport

/// moto without its own signature check, behind a proxy that checks every request's SigV4
/// header signature (and payload hash) with botocore before moto sees it.
///
/// Needed for listings: moto checks signatures against a URL whose query werkzeug has
/// decoded, so a correctly signed `prefix=wal%2F` (boto3's own included) fails there with
/// SignatureDoesNotMatch. The proxy signs over the raw request target, as AWS does.
final class SigningProxy: @unchecked Sendable {
    /// `http://127.0.0.1:PORT`.
    let endpoint: String
    /// The only access key the proxy accepts.
    static let accessKeyID = "AKIDPROXYTEST"
    /// Its secret.
    static let secretAccessKey = "proxy-test-secret"
    private let directory: TemporaryDirectory
    private let pid: pid_t

    /// Starts moto and the proxy in one Python process on a free port.
    init() throws {
        directory = try TemporaryDirectory(prefix: "signing-proxy")
        try Self.script.write(toFile: directory.file("proxy.py"), atomically: true, encoding: .utf8)
        let portFile = directory.file("port")
        pid = try ChildProcess.spawn(["python3", directory.file("proxy.py"), portFile], logPath: directory.file("proxy.log"))
        guard eventually(timeout: .seconds(60), { FileManager.default.fileExists(atPath: portFile) }),
            let port = try? String(contentsOfFile: portFile, encoding: .utf8)
        else {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
            let log = (try? String(contentsOfFile: directory.file("proxy.log"), encoding: .utf8)) ?? ""
            throw SnapfleetError(.ioError, "the signing proxy did not start: \(log.suffix(2000))")
        }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit {
        kill(pid, SIGKILL)
        _ = ChildProcess.exitStatus(of: pid, wait: true)
    }

    /// Runs boto3 code with an `s3` client signed for the proxy.
    @discardableResult
    func boto3(_ code: String) throws -> String {
        let prelude = """
            import boto3
            s3 = boto3.client("s3", endpoint_url="\(endpoint)", region_name="us-east-1", \
            aws_access_key_id="\(Self.accessKeyID)", aws_secret_access_key="\(Self.secretAccessKey)")

            """
        let file = directory.file("boto3-\(UUID().uuidString).py")
        try (prelude + code).write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try ChildProcess.check(["python3", file])
    }

    private static let script = #"""
        import hashlib, hmac, io, os, sys
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        ACCESS, SECRET, PORT_FILE = "AKIDPROXYTEST", "proxy-test-secret", sys.argv[1]
        moto = DomainDispatcherApplication(create_backend_app)

        def expected_signature(environ, body):
            # The raw request target: werkzeug's reconstructed URL decodes %2F in the query, which is
            # what makes moto's own check reject correctly signed listings.
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            if "CONTENT_TYPE" in environ: headers["content-type"] = environ["CONTENT_TYPE"]
            if "CONTENT_LENGTH" in environ: headers["content-length"] = environ["CONTENT_LENGTH"]
            auth = headers.get("authorization", "")
            signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";") if "SignedHeaders=" in auth else []
            request = AWSRequest(method=environ["REQUEST_METHOD"], url="http://" + headers["host"] + environ["RAW_URI"],
                                 data=body, headers={k: v for k, v in headers.items() if k in signed})
            request.context["timestamp"] = headers.get("x-amz-date", "")
            signer = S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1")
            canonical = signer.canonical_request(request)
            return auth, signer.signature(signer.string_to_sign(request, canonical), request)

        def app(environ, start_response):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            auth, signature = expected_signature(environ, body)
            declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
            if declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(body).hexdigest():
                start_response("400 Bad Request", [("Content-Type", "application/xml")])
                return [b"<Error><Code>XAmzContentSHA256Mismatch</Code><Message>checked by the test proxy</Message></Error>"]
            if not auth.startswith("AWS4-HMAC-SHA256 Credential=" + ACCESS + "/") or not hmac.compare_digest(auth.rsplit("Signature=", 1)[-1], signature):
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [b"<Error><Code>SignatureDoesNotMatch</Code><Message>checked by the test proxy</Message></Error>"]
            environ["wsgi.input"] = io.BytesIO(body)
            return moto(environ, start_response)

        server = make_server("127.0.0.1", 0, app, threaded=True)
        with open(PORT_FILE + ".tmp", "w") as f: f.write(str(server.server_port))
        os.rename(PORT_FILE + ".tmp", PORT_FILE)
        server.serve_forever()
        """#
}
