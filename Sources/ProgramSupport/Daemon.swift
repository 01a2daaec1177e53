import Logging
import Messaging
import SnapfleetCore

/// A long-running service, run the same way by both programs.
public protocol DaemonService: Sendable {
    /// Serves until `stop()`; blocks the calling thread.
    func run()
    /// Ends the service cleanly (for the agent: ends a running backup first; for the controller:
    /// lets running backups finish).
    func stop() async
    /// Reads the configuration again (SIGHUP); a bad file leaves the running one in force.
    func reload()
}

/// The life of `serve` / `run`: signals, logging, the service, a reload on SIGHUP and a clean
/// stop on SIGINT/SIGTERM.
public enum Daemon {
    /// Runs the service `make` builds until a termination signal, then stops it; an error while
    /// building it ends the program with the error's exit status.
    public static func run(
        program: String, logLevel: String, label: String, make: (Logger) throws(SnapfleetError) -> any DaemonService
    ) {
        // Before any thread exists, so every thread inherits the mask and sigwait alone sees the signals.
        Termination.blockSignals()
        _ = LoggingSetup.bootstrap(level: logLevel)
        let logger = Logger(label: label)
        let service: any DaemonService
        do { service = try make(logger) } catch { ProgramExit.fail(program, error) }
        startThread { service.run() }
        var signal = Termination.wait()
        while signal == .hangup {
            logger.info("reloading the configuration", metadata: ["signal": "\(signal.rawValue)"])
            service.reload()
            signal = Termination.wait()
        }
        logger.info("stopping", metadata: ["signal": "\(signal.rawValue)"])
        let stopped = Flag()
        Task {
            await service.stop()
            stopped.raise()
        }
        stopped.wait()
    }
}
