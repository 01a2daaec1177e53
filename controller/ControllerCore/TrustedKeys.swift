import Messaging
import Synchronization

/// The agent keys ZAP admits: those of the configured servers, replaced at reload.
final class TrustedKeys: Sendable {
    private let keys: Mutex<Set<CurvePublicKey>>

    /// Trusts `keys`.
    init(_ keys: some Sequence<CurvePublicKey>) { self.keys = Mutex(Set(keys)) }

    /// Whether a connection with `key` may be admitted.
    func contains(_ key: CurvePublicKey) -> Bool { keys.withLock { $0.contains(key) } }

    /// Trusts `keys` from now on (connections already admitted are the registry's to end).
    func replace(with keys: some Sequence<CurvePublicKey>) { self.keys.withLock { $0 = Set(keys) } }
}
