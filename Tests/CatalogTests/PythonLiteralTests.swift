import Catalog
import SnapfleetCore
import TestSupport
import Testing

@Suite("PythonLiteral")
struct PythonLiteralTests {
    @Test(
        "repr of strings matches Python's quoting and escaping",
        arguments: [
            ("abc", "'abc'"), ("", "''"), ("it's", #""it's""#), (#"say "hi""#, #"'say "hi"'"#),
            (#"both ' and ""#, #"'both \' and "'"#), ("a\nb\tc\rd", #"'a\nb\tc\rd'"#), (#"back\slash"#, #"'back\\slash'"#),
            ("\u{0}\u{1F}\u{7F}", #"'\x00\x1f\x7f'"#), ("caf\u{E9}", "'caf\u{E9}'"), ("\u{A0}", #"'\xa0'"#),
            ("\u{200B}\u{2028}", #"'\u200b\u2028'"#), ("\u{1F600}", "'\u{1F600}'"), ("\u{E000}", #"'\ue000'"#),
            ("\u{F0000}", #"'\U000f0000'"#), ("\u{85}", #"'\x85'"#),
        ])
    func stringRepr(text: String, expected: String) {
        #expect(PythonLiteral.string(text).repr == expected)
    }

    @Test(
        "repr of floats is Python's shortest round-trip form",
        arguments: [
            (70.123456, "70.123456"), (1.0, "1.0"), (0.1, "0.1"), (100.0, "100.0"), (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"), (0.0001, "0.0001"), (0.00001, "1e-05"), (-0.0, "-0.0"),
            (1.5e-10, "1.5e-10"), (123456789012345678.0, "1.2345678901234568e+17"), (5e-324, "5e-324"),
            (1e22, "1e+22"), (-2.5, "-2.5"), (1234567.125, "1234567.125"),
        ])
    func floatRepr(value: Double, expected: String) {
        #expect(PythonLiteral.float(value).repr == expected)
    }

    @Test("repr of containers: dict order kept, one-element tuple keeps its comma")
    func containerRepr() {
        let value = PythonLiteral.list([
            .tuple([.string("tbs1"), .int(16387), .string("/x")]), .tuple([.int(1)]), .tuple([]),
            .dict(["b": .none, "a": .bool(true)]), .dict([]), .bool(false), .int(-3),
        ])
        #expect(value.repr == "[('tbs1', 16387, '/x'), (1,), (), {'b': None, 'a': True}, {}, False, -3]")
    }

    @Test("parsing reverses repr for the spec's snapshots_info")
    func parsesSpecValue() throws {
        let text = Fixtures.aws.split(separator: "\n").first { $0.hasPrefix("snapshots_info=") }!.dropFirst(15)
        let value = try PythonLiteral(parsing: String(text))
        #expect(value.repr == String(text))
        #expect(value["provider"] == .string("aws"))
    }

    @Test("parsing accepts Python's other spellings of the same values")
    func parsesVariants() throws {
        #expect(try PythonLiteral(parsing: #" "a" 'b' u'c' r'\n' "#) == .string(#"abc\n"#))
        #expect(try PythonLiteral(parsing: #"'\x41\u00e9\U0001F600\101\'\"\\\a\q'"#) == .string("A\u{E9}\u{1F600}A'\"\\\u{7}\\q"))
        #expect(try PythonLiteral(parsing: "'''a\nb'''") == .string("a\nb"))
        #expect(try PythonLiteral(parsing: "[1, 2,]") == .list([.int(1), .int(2)]))
        #expect(try PythonLiteral(parsing: "(1)") == .int(1))
        #expect(try PythonLiteral(parsing: "(1,)") == .tuple([.int(1)]))
        #expect(try PythonLiteral(parsing: "- 1.5e3") == .float(-1500))
        #expect(try PythonLiteral(parsing: "{'a': 1, 'a': 2, 'b': 3}") == .dict(["a": .int(2), "b": .int(3)]))
        #expect(try PythonLiteral(parsing: ".5") == .float(0.5))
    }

    @Test(
        "malformed literals are refused with the offset of the problem",
        arguments: [
            ("{'a': 1", "invalid python literal at offset 7: unexpected end of input, expected ',' or '}'"),
            ("{'a' 1}", "invalid python literal at offset 5: unexpected '1', expected ':'"),
            ("['abc", "invalid python literal at offset 1: unterminated string"),
            ("'abc\ndef'", "invalid python literal at offset 0: unterminated string (line break before the closing quote)"),
            ("[1] x", "invalid python literal at offset 4: unexpected 'x' after the value"),
            ("", "invalid python literal at offset 0: unexpected end of input, expected a value"),
            ("foo", "invalid python literal at offset 0: unexpected name 'foo'"),
            ("b'x'", "invalid python literal at offset 0: unsupported string prefix 'b'"),
            ("'\\x4'", "invalid python literal at offset 1: truncated escape: 2 digits expected"),
            ("'\\ud800'", "invalid python literal at offset 1: lone surrogate escapes are not supported"),
            ("0x10", "invalid python literal at offset 1: unsupported number syntax (only decimal int and float literals are accepted)"),
            ("012", "invalid python literal at offset 0: leading zeros in a decimal integer are not permitted"),
            ("99999999999999999999", "invalid python literal at offset 0: integer out of the 64-bit range"),
            ("1e999", "invalid python literal at offset 0: float literal out of range"),
            ("--1", "invalid python literal at offset 1: unexpected '-', expected a number"),
        ])
    func malformed(text: String, message: String) {
        let error = #expect(throws: SnapfleetError.self) { try PythonLiteral(parsing: text) }
        #expect(error?.code == .invalidBody)
        #expect(error?.message == message)
    }

    @Test("absurd nesting and oversized input are refused, not crashed on")
    func limits() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: SnapfleetError.self) { try PythonLiteral(parsing: deep) }
        #expect(error?.message == "invalid python literal at offset 64: nesting deeper than 64 levels")
        let long = "'" + String(repeating: "a", count: 100) + "'"
        let tooLong = #expect(throws: SnapfleetError.self) {
            try PythonLiteral(parsing: long, limits: .init(maxLength: 50, maxDepth: 8))
        }
        #expect(tooLong?.message == "invalid python literal at offset 50: longer than 50 bytes")
        #expect(throws: SnapfleetError.self) { try PythonLiteral(parsing: String(repeating: "{'a': ", count: 70)) }
    }

    @Test("repr matches real Python 3's repr() and literal_eval reads it back", .requires(pythonAvailable(), "needs python3"))
    func crossCheckWithPython() throws {
        let samples = [
            "plain", "it's", #"say "hi""#, #"both ' and ""#, "back\\slash\\", "tab\tnew\nline\rcr",
            "\u{0}\u{1}\u{7}\u{8}\u{B}\u{C}\u{1B}\u{1F}\u{7F}", "caf\u{E9} na\u{EF}ve \u{FC}ber", "\u{80}\u{85}\u{9F}\u{A0}\u{AD}",
            "\u{200B}\u{200E}\u{2028}\u{2029}\u{3000}\u{FEFF}", "\u{1F600}\u{1F1EB}\u{1F1F7}", "\u{E000}\u{F8FF}\u{F0000}\u{10FFFF}",
            "日本語", "e\u{301}", "\\'\\\"", "'", "\"", "'\"", "",
        ]
        let floats = [70.123456, 0.1, 1e16, 1e-05, 0.0001, 123456789.123, 2.5e-308, 1.7976931348623157e308, 1e15, 12345678901234567.0]
        let value = PythonLiteral.list(samples.map(PythonLiteral.string) + floats.map(PythonLiteral.float))
        // Python rebuilds the same value from code points and float bit patterns, so nothing depends on our printer.
        let points = samples.map { "[" + $0.unicodeScalars.map { String($0.value) }.joined(separator: ",") + "]" }
        let bits = floats.map { String($0.bitPattern) }
        let script = """
            import ast, struct
            strings = [''.join(map(chr, p)) for p in [\(points.joined(separator: ","))]]
            floats = [struct.unpack('<d', struct.pack('<Q', b))[0] for b in [\(bits.joined(separator: ","))]]
            import sys
            text = repr(strings + floats)
            assert ast.literal_eval(text) == strings + floats
            sys.stdout.buffer.write(text.encode('utf-8'))
            """
        let output = try ChildProcess.run(["python3", "-c", script])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(value.repr == output.stdout)
        #expect(try PythonLiteral(parsing: output.stdout) == value)
    }
}

/// Whether `python3` can be run (the cross-check is skipped without it).
func pythonAvailable() -> Bool {
    (try? ChildProcess.run(["python3", "-c", "pass"]).status) == 0
}
