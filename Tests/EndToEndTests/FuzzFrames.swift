import Foundation
import SnapfleetProtocol

/// A small deterministic random generator (SplitMix64), so a failing fuzz run can be replayed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated protocol frames: the hostile traffic both programs must survive.
struct FuzzFrames {
    var random: SeededRandom
    let seeds: [[UInt8]]

    init(seed: UInt64, valid: [Envelope]) {
        random = SeededRandom(seed: seed)
        seeds = valid.map(WireCodec.encode)
    }

    /// The next hostile message (one or more frames).
    mutating func next() -> [[UInt8]] {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return [randomBytes(Int.random(in: 0..<300, using: &random))]
        case 1: return [Array(seed().prefix(Int.random(in: 0..<seed().count, using: &random)))]
        case 2: return [deepNesting()]
        case 3: return [swapType()]
        case 4: return [seed()] + (0..<Int.random(in: 1...20, using: &random)).map { _ in randomBytes(8) }
        case 5: return [Array(#"{"protocol":1,"id":"x","type":"hello","body":{"#.utf8) + randomBytes(50)]
        case 6: return [Array(Data(count: Int.random(in: 250_000...400_000, using: &random)))]
        default: return [flipBytes(seed())]
        }
    }

    private mutating func seed() -> [UInt8] { seeds[Int.random(in: 0..<seeds.count, using: &random)] }

    private mutating func randomBytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    private mutating func flipBytes(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        for _ in 0..<Int.random(in: 1...8, using: &random) where !frame.isEmpty {
            frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
        }
        return frame
    }

    /// Tens of thousands of nested arrays: a recursive parser without a depth limit overflows its stack.
    private mutating func deepNesting() -> [UInt8] {
        let depth = Int.random(in: 1_000...50_000, using: &random)
        return Array(#"{"protocol":1,"id":"deep","type":"hello","body":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: depth)
    }

    private mutating func swapType() -> [UInt8] {
        let types = MessageType.allCases.map(\.rawValue) + ["", "HELLO", "__init__", "backup_start\u{0}"]
        var text = String(decoding: seed(), as: UTF8.self)
        if let range = text.range(of: #""type":""#), let end = text[range.upperBound...].firstIndex(of: "\"") {
            text.replaceSubrange(range.upperBound..<end, with: types[Int.random(in: 0..<types.count, using: &random)])
        }
        return Array(text.utf8)
    }
}
