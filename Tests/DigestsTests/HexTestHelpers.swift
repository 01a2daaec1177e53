/// Decodes a hex string from a test vector (whitespace allowed).
func bytes(hex: String) -> [UInt8] {
    let digits = hex.filter { !$0.isWhitespace }
    var output: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        output.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return output
}
