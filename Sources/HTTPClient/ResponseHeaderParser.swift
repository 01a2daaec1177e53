/// Turns the header lines curl hands over, one at a time, into a status and header fields.
///
/// Each status line (`HTTP/1.1 100 Continue`, `HTTP/2 200`) starts a new block, so only the
/// final response's headers remain.
struct ResponseHeaderParser {
    /// The status of the latest status line, 0 before any.
    private(set) var status = 0
    /// The latest block's fields.
    private(set) var headers = HTTPHeaders()

    /// Consumes one raw line, CRLF included.
    mutating func consume(_ line: String) {
        let trimmed = line.trimmingLineEnd()
        if trimmed.hasPrefix("HTTP/") {
            startBlock(statusLine: trimmed)
        } else if let first = trimmed.first, first == " " || first == "\t" {
            continueLastField(with: trimmed)
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = String(trimmed[..<colon])
            headers.append(name: name, value: trimmed[trimmed.index(after: colon)...].trimmingSpaces())
        }
        // The blank line ending a block, and anything unparseable, add nothing.
    }

    private mutating func startBlock(statusLine: Substring) {
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        status = parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
        headers = HTTPHeaders()
    }

    /// Obsolete line folding (RFC 9112 §5.2): a line starting with whitespace continues the
    /// previous field's value.
    private mutating func continueLastField(with line: Substring) {
        guard let last = headers.fields.last else { return }
        var fields = Array(headers.fields.dropLast())
        fields.append(HTTPHeaders.Field(name: last.name, value: last.value + " " + line.trimmingSpaces()))
        headers = HTTPHeaders(fields.map { ($0.name, $0.value) })
    }
}

extension StringProtocol {
    /// Without a trailing CR and/or LF.
    fileprivate func trimmingLineEnd() -> Substring {
        var text = self[...]
        while let last = text.last, last == "\n" || last == "\r" || last == "\r\n" { text = text.dropLast() }
        return Substring(text)
    }

    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
