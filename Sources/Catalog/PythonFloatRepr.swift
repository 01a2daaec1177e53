/// Python 3's `repr()` of a `float`: the shortest digits that round-trip, laid out Python's way.
enum PythonFloatRepr {
    /// `repr(value)`, e.g. `70.123456`, `1e-05`, `1e+16`, `100.0`.
    static func repr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        let sign = value.sign == .minus ? "-" : ""
        if value == 0 { return sign + "0.0" }
        let (digits, point) = shortestDigits(abs(value))
        // CPython's float_repr_style "short" switches to exponent notation when the decimal point
        // would sit more than 16 places right of the first digit or 4 or more places left of it.
        if point <= -4 || point > 16 { return sign + scientific(digits, point: point) }
        return sign + positional(digits, point: point)
    }

    /// Swift's `description` already yields the shortest round-trip digits (like CPython's
    /// `_Py_dg_dtoa` mode 0); only its layout differs, so take the digits and the position of
    /// the decimal point from it (the point sits after the first `point` digits, as in `_Py_dg_dtoa`).
    static func shortestDigits(_ value: Double) -> (digits: [UInt8], point: Int) {
        let text = value.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let whole = Array(mantissa[0].utf8)
        let fraction = mantissa.count > 1 ? Array(mantissa[1].utf8) : []
        var digits = whole + fraction
        var point = whole.count + exponent
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, point)
    }

    /// `d.ddde±XX`, with at least two exponent digits and no `.0` for a single digit.
    static func scientific(_ digits: [UInt8], point: Int) -> String {
        var text = String(decoding: digits.prefix(1), as: UTF8.self)
        if digits.count > 1 { text += "." + String(decoding: digits.dropFirst(), as: UTF8.self) }
        let exponent = point - 1
        let magnitude = String(abs(exponent))
        return text + (exponent < 0 ? "e-" : "e+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    /// `ddd.ddd`, always with a fractional part (`100.0`, `0.001`).
    static func positional(_ digits: [UInt8], point: Int) -> String {
        let text = String(decoding: digits, as: UTF8.self)
        if point <= 0 { return "0." + String(repeating: "0", count: -point) + text }
        if point >= digits.count { return text + String(repeating: "0", count: point - digits.count) + ".0" }
        let split = text.index(text.startIndex, offsetBy: point)
        return text[..<split] + "." + text[split...]
    }
}
