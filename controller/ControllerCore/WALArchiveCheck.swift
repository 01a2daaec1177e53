import Catalog
import SnapfleetCore

/// `check-wal-archive`: whether a server's WAL archive is safe for a new or restored server to
/// archive into, as `barman-cloud-check-wal-archive` decides it: empty, or (with a timeline)
/// holding nothing of that timeline or a later one.
public enum WALArchiveCheck {
    /// The verdict and what it is based on.
    public struct Verdict: Sendable, Equatable {
        /// Whether the archive may be used.
        public var usable: Bool
        /// One line saying why.
        public var message: String
    }

    /// Lists the server's `wals/` and judges it (`timeline` nil: the archive must be empty).
    public static func run(config: ControllerConfig, server: String, timeline: Int?) throws(SnapfleetError) -> Verdict {
        guard let serverConfig = config.servers[server] else {
            throw SnapfleetError(.unknownServer, "no server named '\(server)' in the configuration")
        }
        let catalog = try CatalogStore.open(server: server, config: serverConfig)
        let files = try catalog.store.list(prefix: catalog.layout.walsPrefix).objects.compactMap { object -> WALFile? in
            guard case .wal(let file, _) = catalog.layout.object(forKey: object.key) else { return nil }
            return file
        }
        return judge(files, server: server, timeline: timeline)
    }

    /// barman's rule and messages.
    static func judge(_ files: [WALFile], server: String, timeline: Int?) -> Verdict {
        guard let timeline else {
            return files.isEmpty
                ? Verdict(usable: true, message: "WAL archive of \(server) is empty: safe to use")
                : Verdict(
                    usable: false, message: "WAL archive check failed for server \(server): Expected empty archive (found \(files.count) files)")
        }
        let newer = files.filter { Int($0.timeline) >= timeline }
        guard newer.isEmpty else {
            let noun = newer.count == 1 ? "file" : "files"
            return Verdict(
                usable: false,
                message:
                    "WAL archive check failed for server \(server): Found \(newer.count) \(noun) in WAL archive equal to or newer than timeline \(timeline)"
            )
        }
        return Verdict(usable: true, message: "WAL archive of \(server) has nothing on timeline \(timeline) or later: safe to use")
    }
}
