/// Runs `body` over the bytes of any sequence, without copying when they are contiguous
/// (`[UInt8]`, `Data`, `ArraySlice`, a native `String`'s `utf8`).
func withContiguousBytes<Value, Failure: Error>(
    of bytes: some Sequence<UInt8>, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
) throws(Failure) -> Value {
    // The standard library's accessors are `rethrows` (untyped), so the typed error travels
    // out of them inside a `Result`.
    let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
        Result { () throws(Failure) in try body(UnsafeRawBufferPointer(buffer)) }
    }
    if let contiguous { return try contiguous.get() }
    let copied = Array(bytes).withUnsafeBytes { buffer in
        Result { () throws(Failure) in try body(buffer) }
    }
    return try copied.get()
}
