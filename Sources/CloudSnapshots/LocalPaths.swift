import SnapfleetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Checks on the names and paths the local provider is given, and `errno` turned into errors.
enum LocalPaths {
    /// Refuses an empty or relative path, or one with control characters (which would garble
    /// logs and sysfs comparisons and have no place in a disk image's name).
    static func checkAbsolute(_ path: String, role: String) throws(SnapfleetError) {
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw SnapfleetError(
                .invalidConfiguration, "\(role) \(String(reflecting: path)) contains control characters",
                hint: "use a plain absolute path")
        }
        guard path.hasPrefix("/") else {
            throw SnapfleetError(.invalidConfiguration, "\(role) \(path) is not an absolute path", hint: "use a path starting with /")
        }
    }

    /// Refuses a snapshot name that could not be a plain file name: letters, digits, `.`, `_` and
    /// `-` only, not starting with `.` or `-`, so `<name>.img` never escapes the snapshot directory.
    static func checkSnapshotName(_ name: String) throws(SnapfleetError) {
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (isAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-")
        }
        guard !name.isEmpty, name.utf8.count <= 200, allowed, !name.hasPrefix("."), !name.hasPrefix("-") else {
            throw SnapfleetError(
                .invalidConfiguration, "snapshot name \(String(reflecting: name)) is not a valid file name",
                hint: "use at most 200 letters, digits, '.', '_' and '-', not starting with '.' or '-'")
        }
    }

    /// The canonical path (`realpath(3)`), or an error naming the role and the path.
    static func realPath(_ path: String, role: String) throws(SnapfleetError) -> String {
        guard let resolved = realpath(path, nil) else { throw error(errno, "cannot resolve \(role) \(path)") }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `stat(2)` of a path, or an error naming the role and the path.
    static func status(_ path: String, role: String) throws(SnapfleetError) -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw error(errno, "cannot stat \(role) \(path)") }
        return info
    }

    /// Whether the mode is a directory's.
    static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }

    /// Whether the mode is a regular file's.
    static func isRegularFile(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }

    /// An error for `errno` right after a failed call: `.notFound` for a missing path, else `.ioError`.
    static func error(_ number: Int32, _ what: String, hint: String? = nil) -> SnapfleetError {
        let code: ErrorCode = (number == ENOENT || number == ENOTDIR) ? .notFound : .ioError
        return SnapfleetError(code, "\(what): \(String(cString: strerror(number)).lowercased())", hint: hint)
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
