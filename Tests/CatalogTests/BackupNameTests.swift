import Catalog
import SnapfleetCore
import Testing

@Suite("BackupName")
struct BackupNameTests {
    @Test("ordinary names are accepted", arguments: ["nightly", "weekly-2024", "Latest", "last failed"])
    func valid(name: String) throws {
        try BackupName.validate(name)
    }

    @Test(
        "empty, id-like and reserved names are refused with barman's messages",
        arguments: [
            ("", "Backup name cannot be empty"),
            ("20240315T021500", "Backup name '20240315T021500' is not allowed: backup ID"),
            ("latest", "Backup name 'latest' is not allowed: reserved word"),
            ("last-failed", "Backup name 'last-failed' is not allowed: reserved word"),
            ("auto", "Backup name 'auto' is not allowed: reserved word"),
            ("a\nb", "Backup name 'a?b' is not allowed: control characters or surrounding white space"),
            (" padded", "Backup name ' padded' is not allowed: control characters or surrounding white space"),
        ])
    func invalid(name: String, message: String) {
        let error = #expect(throws: SnapfleetError.self) { try BackupName.validate(name) }
        #expect(error?.code == .invalidBody)
        #expect(error?.message == message)
    }

    @Test("all eight reserved words")
    func reserved() {
        #expect(BackupName.reservedWords == ["latest", "last", "oldest", "first", "last-failed", "latest-full", "last-full", "auto"])
    }
}
