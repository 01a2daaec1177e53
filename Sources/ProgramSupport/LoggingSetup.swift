import Logging

/// Log set-up shared by both programs: lines on stderr, the level chosen on the command line.
public enum LoggingSetup {
    /// Installs the stderr handler once, at `level` ("trace" … "critical"; default "info").
    public static func bootstrap(level: String?) -> Logger.Level {
        let chosen = level.flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
            return handler
        }
        return chosen
    }

    /// The names `--log-level` accepts.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
}
