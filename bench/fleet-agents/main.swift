// snapfleet-fleet-agents: many real agents in one process, for the fleet scale test and
// bench/fleet. Each agent is a full AgentService (its own CURVE key, server name, ZeroMQ
// context, local socket and PostgreSQL probe) made from one agent.yaml of the directory given;
// a thousand agent processes would not fit this machine, a thousand services in one do.
// Not a product: agents in production run one per host (snapfleet-agent run).
import AgentCore
import Foundation
import Logging
import ProgramSupport
import SnapfleetConfig
import SnapfleetCore

/// Every service of the directory's `*.yaml`, one thread each; stopped together.
final class AgentHost: DaemonService {
    private let services: [AgentService]

    init(directory: String, logger: Logger) throws(SnapfleetError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted() } catch {
            throw SnapfleetError(.invalidConfiguration, "cannot list \(directory)")
        }
        var services: [AgentService] = []
        for name in names {
            let path = directory + "/" + name
            services.append(try AgentService(config: try ConfigLoader.load(AgentConfig.self, from: path), configPath: path, logger: logger))
        }
        self.services = services
        logger.notice("agents started", metadata: ["count": "\(services.count)"])
    }

    func run() {
        let threads = DispatchGroup()
        for service in services {
            threads.enter()
            startThread {
                service.run()
                threads.leave()
            }
        }
        threads.wait()
    }

    func reload() {}

    func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { await service.stop() } }
        }
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 || arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: snapfleet-fleet-agents DIRECTORY [LOG_LEVEL]\n".utf8))
    exit(2)
}
Daemon.run(program: "snapfleet-fleet-agents", logLevel: arguments.count == 3 ? arguments[2] : "warning", label: "snapfleet.agents") {
    logger throws(SnapfleetError) in
    try SharedLibrary.require(.libpq, .libcurl)
    return try AgentHost(directory: arguments[1], logger: logger)
}
