import Foundation
import SnapfleetProtocol
import TestSupport
import Testing

@testable import AgentCore

/// `restore_command` is run by PostgreSQL through `/bin/sh`: paths with spaces or quotes must
/// reach the agent as one argument each.
@Suite("restore_command: the executable and configuration paths quoted for the shell")
struct RestoreCommandTests {
    @Test("plain paths are written as they are")
    func plainPaths() {
        #expect(
            RecoverySettings.restoreCommand(executable: "/usr/bin/snapfleet-agent", configPath: "/etc/snapfleet/agent.yaml")
                == "/usr/bin/snapfleet-agent wal-fetch --config /etc/snapfleet/agent.yaml %f %p")
    }

    @Test(
        "a path with a space, a quote or a percent sign reaches the program as one argument, through the shell as PostgreSQL runs it",
        arguments: ["/etc/snap fleet/agent.yaml", "/etc/it's/agent.yaml", "/etc/100%/agent.yaml", "/etc/$HOME `x`/a.yaml"])
    func quotedPaths(config: String) throws {
        let directory = try TemporaryDirectory(prefix: "restore command")
        // A stand-in for the agent that prints each argument it receives on a line of its own.
        let program = directory.file("fake agent")
        try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n".write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        let command = RecoverySettings.restoreCommand(executable: program, configPath: config)
        // PostgreSQL replaces %f and %p (and %% with %) before handing the line to /bin/sh.
        let expanded = command.replacingOccurrences(of: "%f", with: "000000010000000000000002")
            .replacingOccurrences(of: "%p", with: "pg_wal/RECOVERYXLOG").replacingOccurrences(of: "%%", with: "%")
        let output = try ChildProcess.check(["/bin/sh", "-c", expanded])
        #expect(
            output.split(separator: "\n").map(String.init) == ["wal-fetch", "--config", config, "000000010000000000000002", "pg_wal/RECOVERYXLOG"],
            "\(command)")
    }

    @Test("the postgresql.auto.conf line doubles the quotes the shell quoting added")
    func confLine() {
        let settings = RecoverySettings(
            restoreCommand: RecoverySettings.restoreCommand(executable: "/opt/snap fleet/agent", configPath: "/etc/a.yaml"),
            target: RecoveryTarget(immediate: false))
        #expect(settings.lines.first == "restore_command = '''/opt/snap fleet/agent'' wal-fetch --config /etc/a.yaml %f %p'")
    }
}
