import AWSSigning
import Foundation
import SnapfleetCore
import TestSupport
import Testing

@testable import CloudCredentials

/// IMDSv2 against a small local metadata server that insists on the session token.
@Suite("InstanceMetadataCredentials")
struct InstanceMetadataCredentialsTests {
    /// A metadata server: `PUT /latest/api/token` issues a token, every `GET` without it gets 401;
    /// each credentials document has a new key id and expires `expiresIn` seconds from now.
    final class FakeIMDS {
        let directory: TemporaryDirectory
        let endpoint: String
        let pid: pid_t

        init(expiresIn: Int) throws {
            directory = try TemporaryDirectory(prefix: "imds")
            let port = freeTCPPort()
            endpoint = "http://127.0.0.1:\(port)"
            try Self.script.write(toFile: directory.file("imds.py"), atomically: true, encoding: .utf8)
            pid = try ChildProcess.spawn(
                ["python3", directory.file("imds.py"), String(port), String(expiresIn)], logPath: directory.file("imds.log"))
            guard eventually(timeout: .seconds(10), { (try? Self.status(endpoint + "/ping")) == "404" }) else {
                throw NotStarted()
            }
        }

        deinit {
            kill(pid, SIGKILL)
            _ = ChildProcess.exitStatus(of: pid, wait: true)
        }

        /// The status a plain (tokenless) GET gets.
        static func status(_ url: String) throws -> String {
            try ChildProcess.check([
                "python3", "-c",
                "import sys, urllib.request, urllib.error\ntry:\n  print(urllib.request.urlopen(sys.argv[1], timeout=2).status)\nexcept urllib.error.HTTPError as e:\n  print(e.code)",
                url,
            ]).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        static let script = """
            import datetime, http.server, json, sys
            port, expires_in = int(sys.argv[1]), int(sys.argv[2])
            count = 0
            class Handler(http.server.BaseHTTPRequestHandler):
                def reply(self, status, body):
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def do_PUT(self):
                    if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                        self.reply(200, b"TOKEN123")
                    else:
                        self.reply(400, b"")
                def do_GET(self):
                    global count
                    if self.path == "/ping":
                        return self.reply(404, b"")
                    if self.headers.get("X-aws-ec2-metadata-token") != "TOKEN123":
                        return self.reply(401, b"")
                    if self.path == "/latest/meta-data/iam/security-credentials/":
                        return self.reply(200, b"db-backup-role\\n")
                    if self.path == "/latest/meta-data/iam/security-credentials/db-backup-role":
                        count += 1
                        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
                        body = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAFAKE%d" % count,
                                "SecretAccessKey": "imds-secret", "Token": "imds-token",
                                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
                        return self.reply(200, json.dumps(body).encode())
                    self.reply(404, b"")
                def log_message(self, *args):
                    pass
            http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
            """
    }

    /// The fake server never answered.
    struct NotStarted: Error {}

    @Test("the server really requires the token")
    func tokenRequired() throws {
        let server = try FakeIMDS(expiresIn: 3600)
        #expect(try FakeIMDS.status(server.endpoint + "/latest/meta-data/iam/security-credentials/") == "401")
    }

    @Test("credentials come from the role with token, session token and caching until near expiry")
    func credentialsAreCached() throws {
        let server = try FakeIMDS(expiresIn: 3600)
        let source = InstanceMetadataCredentials(endpoint: server.endpoint)
        let first = try source.credentials()
        #expect(first.accessKeyID == "ASIAFAKE1")
        #expect(first.secretAccessKey.value == "imds-secret")
        #expect(first.sessionToken?.value == "imds-token")
        #expect(try source.credentials().accessKeyID == "ASIAFAKE1")
        // An hour later they are inside the refresh margin and are fetched again.
        #expect(try source.credentials(now: Date().addingTimeInterval(3500)).accessKeyID == "ASIAFAKE2")
    }

    @Test("credentials about to expire are refreshed on every call")
    func nearExpiryRefreshes() throws {
        let server = try FakeIMDS(expiresIn: 60)
        let source = InstanceMetadataCredentials(endpoint: server.endpoint)
        #expect(try source.credentials().accessKeyID == "ASIAFAKE1")
        #expect(try source.credentials().accessKeyID == "ASIAFAKE2")
    }

    @Test("the chain falls through to the metadata service after the environment and the files")
    func chainUsesMetadata() throws {
        let server = try FakeIMDS(expiresIn: 3600)
        let home = try TemporaryDirectory(prefix: "home")
        let chain = AWSCredentialChain(environment: ["HOME": home.path], instanceMetadata: InstanceMetadataCredentials(endpoint: server.endpoint))
        let found = try chain.resolve()
        #expect(found.source == .instanceMetadata)
        #expect(found.credentials.accessKeyID == "ASIAFAKE1")
    }

    @Test("no metadata service: the chain's error says what was tried, quickly")
    func unreachable() throws {
        let home = try TemporaryDirectory(prefix: "home")
        let start = ContinuousClock.now
        let chain = AWSCredentialChain(
            environment: ["HOME": home.path], instanceMetadata: InstanceMetadataCredentials(endpoint: "http://127.0.0.1:\(freeTCPPort())"))
        let error = try #require(throws: SnapfleetError.self) { try chain.resolve() }
        #expect(error.message.contains("instance metadata (instance metadata put /latest/api/token failed"), "\(error.message)")
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
