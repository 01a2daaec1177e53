/// What to store: bytes in memory or a file streamed from disk.
public enum ObjectBody: Sendable, Equatable {
    /// Bytes in memory.
    case bytes([UInt8])
    /// A regular file, read when the object is written.
    case file(path: String)
}
