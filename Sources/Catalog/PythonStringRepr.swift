/// Python 3's `repr()` of a `str` (CPython's `unicode_repr`).
enum PythonStringRepr {
    /// The quoted, escaped form of `text`.
    static func repr(_ text: String) -> String {
        let quote = quoteCharacter(for: text)
        var output = String(quote)
        for scalar in text.unicodeScalars {
            output += escaped(scalar, quote: quote)
        }
        output.unicodeScalars.append(quote)
        return output
    }

    /// Single quotes, unless the text has a `'` and no `"` (then double quotes, so nothing needs escaping).
    static func quoteCharacter(for text: String) -> Unicode.Scalar {
        let scalars = text.unicodeScalars
        return scalars.contains("'") && !scalars.contains("\"") ? "\"" : "'"
    }

    /// One scalar as `repr()` writes it inside quotes.
    static func escaped(_ scalar: Unicode.Scalar, quote: Unicode.Scalar) -> String {
        switch scalar {
        case quote, "\\": return "\\" + String(scalar)
        case "\t": return "\\t"
        case "\n": return "\\n"
        case "\r": return "\\r"
        default: break
        }
        let value = scalar.value
        if value < 0x20 || value == 0x7F { return hexEscape(value) }
        if value < 0x7F || isPrintable(scalar) { return String(scalar) }
        return hexEscape(value)
    }

    /// `\xhh`, `\uhhhh` or `\Uhhhhhhhh` (lower-case hex), the shortest form that fits.
    static func hexEscape(_ value: UInt32) -> String {
        let (prefix, width) = value <= 0xFF ? ("\\x", 2) : value <= 0xFFFF ? ("\\u", 4) : ("\\U", 8)
        let digits = String(value, radix: 16)
        return prefix + String(repeating: "0", count: width - digits.count) + digits
    }

    /// CPython's `Py_UNICODE_ISPRINTABLE`: everything except the "Other" and "Separator" categories.
    ///
    /// Swift's Unicode tables may be newer than Python 3.11's (Unicode 14): a scalar assigned since
    /// then prints here but is escaped by that Python. Barman's own values are ASCII in practice.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
            .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
