import SnapfleetCore

/// Checks that an object key is a plain relative path that cannot leave a store's root.
enum ObjectKey {
    /// Throws `.ioError` naming the key and the reason unless `key` is acceptable.
    static func validate(_ key: String) throws(SnapfleetError) {
        if let reason = problem(key) {
            throw SnapfleetError(.ioError, "invalid object key '\(printable(key))': \(reason)")
        }
    }

    /// Why `key` is refused, or nil if it is acceptable.
    static func problem(_ key: String) -> String? {
        if key.isEmpty { return "it is empty" }
        if key.utf8.contains(0) { return "it contains a NUL byte" }
        if key.hasPrefix("/") { return "it is absolute" }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { return "it has an empty path segment" }
            if segment == "." || segment == ".." { return "it has a '\(segment)' segment" }
        }
        return nil
    }

    /// The key with control characters escaped, for error messages.
    static func printable(_ key: String) -> String { PosixFiles.printable(key) }
}
