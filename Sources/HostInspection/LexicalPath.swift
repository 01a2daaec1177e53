/// Path arithmetic on text only, without touching the file system.
enum LexicalPath {
    /// `path` with `.`, empty components and `..` removed (`..` at the root stays at the root).
    static func normalize(_ path: String) -> String {
        var components: [Substring] = []
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}
