import Testing

@testable import PostgresBackup

@Suite("SecretScrubber")
struct SecretScrubberTests {
    @Test("replaces password settings, quoted or not, in any case")
    func passwordSettings() {
        let scrubber = SecretScrubber()
        #expect(scrubber.scrub("host=x password=hunter2 user=y") == "host=x password=<redacted> user=y")
        #expect(scrubber.scrub("PASSWORD = 'a b\\' c' user=y") == "password=<redacted> user=y")
    }

    @Test("replaces credentials in a postgresql:// URI")
    func uriCredentials() {
        #expect(SecretScrubber().scrub("postgresql://bob:s3cret@db:5432/x") == "postgresql://<redacted>@db:5432/x")
    }

    @Test("removes a known secret wherever it appears")
    func knownSecret() {
        let scrubber = SecretScrubber(secrets: ["hunter2"])
        #expect(
            scrubber.scrub(#"missing "=" after "hunter2" in connection info string"#)
                == #"missing "=" after "<redacted>" in connection info string"#)
    }

    @Test("joins libpq's multi-line messages into one line")
    func oneLine() {
        let text = "connection to server failed: No such file\n\tIs the server running locally?\n"
        #expect(SecretScrubber().scrub(text) == "connection to server failed: No such file Is the server running locally?")
    }
}
