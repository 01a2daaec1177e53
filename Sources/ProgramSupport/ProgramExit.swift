import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// How both programs end on an error: one line on stderr, and an exit status by kind.
///
/// 0 success · 1 the operation failed · 2 bad configuration or key (fix the file, not the world).
public enum ProgramExit {
    /// The exit status for an error.
    public static func status(for error: SnapfleetError) -> Int32 {
        switch error.code {
        case .invalidConfiguration, .invalidKey: 2
        default: 1
        }
    }

    /// Prints `program: error: message (hint: …)` to stderr and exits with the error's status.
    public static func fail(_ program: String, _ error: SnapfleetError) -> Never {
        printError("\(program): error: \(error)")
        exit(status(for: error))
    }

    /// Writes a line to stderr.
    public static func printError(_ line: String) {
        // write(2) on fd 2 rather than the C `stderr` global, which Swift 6 treats as shared mutable state.
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
