import SnapfleetCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The few file-system calls host inspection needs, with `errno` turned into `SnapfleetError`
/// right after each call.
enum SystemFiles {
    /// The canonical absolute path (`realpath(3)`: symlinks, `.` and `..` resolved).
    static func realPath(_ path: String, role: String = "path") throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw error(errno, "cannot resolve \(role) \(path)")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The whole file as text; reads to the end, because `/proc` and `/sys` files report size 0.
    static func readText(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw error(errno, "cannot read \(path)") }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw error(errno, "cannot read \(path)")
            }
            contents.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: contents, as: UTF8.self)
    }

    /// The file's text with surrounding white space removed, or nil if the file does not exist.
    static func readTrimmedIfPresent(_ path: String) throws -> String? {
        guard exists(path) else { return nil }
        return trimmed(try readText(path))
    }

    /// Whether anything (following symlinks) is at `path`.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The names in a directory, sorted; empty if the directory does not exist.
    static func directoryNames(_ path: String) throws -> [String] {
        guard exists(path) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw SnapfleetError(.ioError, "cannot list \(path): \(String(describing: error))")
        }
    }

    /// Where a symlink points, as written in the link; nil if `path` is not a symlink.
    static func linkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }

    /// `st_rdev` of a block device node (after following symlinks), or an error naming the path.
    static func blockDeviceNumber(_ path: String) throws -> DeviceNumber {
        var info = stat()
        guard stat(path, &info) == 0 else { throw error(errno, "cannot stat device \(path)") }
        guard info.st_mode & S_IFMT == S_IFBLK else {
            throw SnapfleetError(.notFound, "\(path) is not a block device")
        }
        return DeviceNumber(rawValue: UInt64(info.st_rdev))
    }

    /// `text` without leading and trailing spaces, tabs and newlines.
    static func trimmed(_ text: String) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(text.drop(while: blank).reversed().drop(while: blank).reversed())
    }

    private static func error(_ number: Int32, _ what: String) -> SnapfleetError {
        let reason = String(cString: strerror(number))
        let code: ErrorCode = (number == ENOENT || number == ENOTDIR) ? .notFound : .ioError
        return SnapfleetError(code, "\(what): \(reason.lowercased())")
    }
}
