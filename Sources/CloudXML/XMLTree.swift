import Foundation
import SnapfleetCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An element of a small XML document (S3 and EC2 responses), parsed into a tree.
///
/// Namespaces are ignored: cloud APIs put everything in one default namespace, and callers
/// look elements up by local name.
public final class XMLTree: Sendable {
    /// The element's local name.
    public let name: String
    /// Its attributes.
    public let attributes: [String: String]
    /// Its text content (concatenated, untrimmed).
    public let text: String
    /// Its child elements, in document order.
    public let children: [XMLTree]

    init(name: String, attributes: [String: String], text: String, children: [XMLTree]) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    /// Parses a document; a malformed one is an error, never a crash.
    public static func parse(_ bytes: [UInt8]) throws(SnapfleetError) -> XMLTree {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "no root element"
            throw SnapfleetError(.httpError, "response is not valid XML: \(reason)")
        }
        return root
    }

    /// The first child with this local name.
    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// Every child with this local name.
    public func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The text of the first child with this name, trimmed; nil if there is no such child.
    public func value(_ name: String) -> String? {
        child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Follows a path of child names (`["reservationSet", "item"]`) to the first match.
    public func descendant(_ path: [String]) -> XMLTree? {
        path.reduce(self as XMLTree?) { node, name in node?.child(name) }
    }
}

/// Builds the tree from the parser's events.
private final class TreeBuilder: NSObject, XMLParserDelegate, @unchecked Sendable {
    private struct Open {
        var name: String
        var attributes: [String: String]
        var text = ""
        var children: [XMLTree] = []
    }

    private var stack: [Open] = []
    /// The finished root element.
    var root: XMLTree?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        // Bounded depth: a hostile or broken response must not exhaust memory or the stack.
        guard stack.count < 64 else { return parser.abortParsing() }
        stack.append(Open(name: elementName, attributes: attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let open = stack.popLast() else { return }
        let element = XMLTree(name: open.name, attributes: open.attributes, text: open.text, children: open.children)
        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
    }
}
