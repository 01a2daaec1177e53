import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("Wire.sanitized")
struct WireSanitizedTests {
    @Test("control characters become spaces", arguments: ["\n", "\r", "\t", "\u{0}", "\u{1B}", "\u{7F}", "\u{1F}"])
    func controlCharacters(_ control: String) throws {
        let text = "before\(control)after"
        #expect(Wire.sanitized(text) == "before after")
        try Wire.checkText(Wire.sanitized(text), field: "text")
    }

    @Test("ordinary text, including non-ASCII, is left alone")
    func ordinaryText() {
        let text = "connexion refusée: «pg-main-1» 🐘 ~!@#$%^&*()"
        #expect(Wire.sanitized(text) == text)
    }

    @Test("text is cut to the byte limit without splitting a character")
    func truncation() throws {
        #expect(Wire.sanitized(String(repeating: "a", count: 5000)).utf8.count == ProtocolLimits.maxTextLength)
        let cut = Wire.sanitized(String(repeating: "é", count: 10), maxLength: 5)
        #expect(cut == "éé")
        #expect(Wire.sanitized("line1\nline2", maxLength: 7) == "line1 l")
    }

    @Test("text from PostgreSQL is sanitized before it goes on the wire")
    func sanitizedOnTheWire() throws {
        let report = PostgresReport.down("could not connect\nDETAIL:\tis the server running?")
        #expect(report.error == "could not connect DETAIL: is the server running?")
        try report.validate()
        let state = BackupState(
            backupID: "20251125T213000", phase: .failed, start: nil, leaseExpiresAt: nil, reason: "ERROR:\nboom")
        #expect(state.reason == "ERROR: boom")
        let body = ErrorBody(SnapfleetError(.postgresError, "ERROR:  syntax error\nLINE 1", hint: "check\tthis"))
        #expect(body.message == "ERROR:  syntax error LINE 1")
        #expect(body.hint == "check this")
        try body.validate()
    }
}
