import LazyLinking
import SnapfleetCore

/// The shared libraries snapfleet opens on first use rather than at exec (see `LazyLinking`), so
/// that the per-segment `wal-push`/`wal-fetch` commands start without them. A daemon requires
/// them at start: a missing one is reported there, cleanly, instead of at its first call.
public enum SharedLibrary: CaseIterable, Sendable {
    /// libpq, for the backup session (the agent).
    case libpq
    /// libcurl, for object storage and the cloud APIs.
    case libcurl

    /// Loads each library now; throws naming the first that cannot be loaded and its package.
    public static func require(_ libraries: SharedLibrary...) throws(SnapfleetError) {
        for library in libraries { try library.load() }
    }

    private func load() throws(SnapfleetError) {
        var error = [CChar](repeating: 0, count: 512)
        let loaded = error.withUnsafeMutableBufferPointer { buffer in
            switch self {
            case .libpq: snapfleet_load_libpq(buffer.baseAddress, buffer.count)
            case .libcurl: snapfleet_load_libcurl(buffer.baseAddress, buffer.count)
            }
        }
        guard loaded != 0 else { return }
        let reason = String(cBuffer: error)
        throw SnapfleetError(.notFound, "cannot load \(soname): \(reason)", hint: "install the \(package) package")
    }

    private var soname: String {
        switch self {
        case .libpq: "libpq.so.5"
        case .libcurl: "libcurl.so.4"
        }
    }

    private var package: String {
        switch self {
        case .libpq: "libpq5"
        case .libcurl: "libcurl4"
        }
    }
}
