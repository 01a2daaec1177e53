extension Duration {
    /// The duration in whole milliseconds (rounded down), for APIs that take integers.
    var wholeMilliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
