/// The shared AWS files (`~/.aws/credentials`, `~/.aws/config`) parsed into profiles.
///
/// Only what credentials need: `[section]` headers, `key = value` lines, `#`/`;` comments.
/// Indented lines (nested settings such as `s3 =` blocks) are skipped.
public struct AWSProfileFiles: Sendable, Equatable {
    /// Settings by profile name, from the credentials file.
    public var credentials: [String: [String: String]]
    /// Settings by profile name, from the config file (`[profile NAME]` read as `NAME`).
    public var config: [String: [String: String]]

    /// Creates the pair from parsed sections.
    public init(credentials: [String: [String: String]], config: [String: [String: String]]) {
        self.credentials = credentials
        self.config = config
    }

    /// Parses the two files' texts (nil for a missing file).
    public init(credentialsText: String?, configText: String?) {
        credentials = credentialsText.map { Self.sections($0, isConfig: false) } ?? [:]
        config = configText.map { Self.sections($0, isConfig: true) } ?? [:]
    }

    /// Whether either file has a section for `profile`.
    public func hasProfile(_ profile: String) -> Bool {
        credentials[profile] != nil || config[profile] != nil
    }

    /// The profile's settings: the credentials file's win over the config file's, key by key.
    public func settings(of profile: String) -> [String: String] {
        (config[profile] ?? [:]).merging(credentials[profile] ?? [:]) { _, fromCredentials in fromCredentials }
    }

    /// INI sections by profile name. In the config file only `[default]` and `[profile NAME]`
    /// name profiles (other sections, such as `[sso-session x]`, are skipped), as the AWS CLI reads it.
    static func sections(_ text: String, isConfig: Bool) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            guard let first = rawLine.first, !first.isWhitespace else { continue }
            let line = rawLine.trimmingWhitespace()
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = profileName(header: String(line.dropFirst().dropLast()).trimmingWhitespace(), isConfig: isConfig)
                if let current, sections[current] == nil { sections[current] = [:] }
            } else if let current, let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingWhitespace().lowercased()
                sections[current]?[key] = line[line.index(after: equals)...].trimmingWhitespace()
            }
        }
        return sections
    }

    /// The profile a section header names, or nil for a section that is not a profile.
    static func profileName(header: String, isConfig: Bool) -> String? {
        guard isConfig, header != "default" else { return header }
        guard header.hasPrefix("profile ") else { return nil }
        return String(header.dropFirst("profile ".count)).trimmingWhitespace()
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (FoundationEssentials has no `trimmingCharacters`).
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
