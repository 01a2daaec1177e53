import AWSSigning
import Foundation
import SnapfleetCore
import TestSupport
import Testing

/// Random requests signed by this module and, independently, by botocore (`SigV4Auth`,
/// `S3SigV4Auth`, `SigV4QueryAuth`, `S3SigV4QueryAuth`) at the same fixed time.
@Suite("SigV4Signer against botocore")
struct BotocoreCrossCheckTests {
    /// Whether `python3` can import botocore; the cross-check is skipped otherwise.
    static let botocoreAvailable: Bool = {
        (try? ChildProcess.run(["python3", "-c", "import botocore"]))?.status == 0
    }()

    static let seed: UInt64 = 0x5167_5634_2024
    static let caseCount = 80

    @Test(
        "random header-signed and presigned requests give botocore's signatures",
        .requires(botocoreAvailable, "python3 cannot import botocore, so there is nothing to cross-check against"))
    func crossCheck() throws {
        var generator = SplitMix64(seed: Self.seed)
        let cases = (0..<Self.caseCount).map { _ in RandomCase.make(using: &generator) }
        let results = try Self.runBotocore(cases)
        try #require(results.count == cases.count)
        for (index, (testCase, expected)) in zip(cases, results).enumerated() {
            let context = "case \(index) (seed \(Self.seed)): \(testCase.method) \(testCase.url) \(testCase.service)"
            try Self.checkHeaders(testCase, expected, context)
            try Self.checkPresigned(testCase, expected, context)
        }
    }

    /// Our signed headers against the headers botocore set.
    static func checkHeaders(_ testCase: RandomCase, _ expected: BotocoreResult, _ context: String) throws {
        let signed = try testCase.signer().sign(request: testCase.request(), date: testCase.date)
        let ours = Dictionary(uniqueKeysWithValues: signed.map { ($0.name.lowercased(), $0.value) })
        let theirs = Dictionary(expected.headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        for name in ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"] {
            #expect(ours[name] == theirs[name], "\(context): \(name)")
        }
    }

    /// Our presigned URL against botocore's: same signature, same parameters (botocore does not sort them).
    static func checkPresigned(_ testCase: RandomCase, _ expected: BotocoreResult, _ context: String) throws {
        let url = try testCase.signer().presignedURL(
            method: testCase.method, url: RequestURL(parsing: testCase.url), headers: testCase.presignHeaders.map { HeaderField($0[0], $0[1]) },
            expires: testCase.expires, date: testCase.date)
        let (ourBase, ourQuery) = split(url)
        let (theirBase, theirQuery) = split(expected.presignedURL)
        // botocore keeps the host's case in the URL (it signs it lowercased, as we do).
        let (ours, theirs) = (try RequestURL(parsing: ourBase), try RequestURL(parsing: theirBase))
        #expect(ours.origin + ours.path == theirs.origin + theirs.path, "\(context)")
        #expect(ourQuery.sorted() == theirQuery.sorted(), "\(context)")
        #expect(ourQuery.last?.hasPrefix("X-Amz-Signature=") == true, "\(context)")
    }

    static func split(_ url: String) -> (String, [String]) {
        let parts = url.split(separator: "?", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? parts[1].split(separator: "&").map(String.init) : [])
    }

    /// Writes the cases and the script to a temporary directory and runs python3 on them.
    static func runBotocore(_ cases: [RandomCase]) throws -> [BotocoreResult] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sigv4-botocore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let casesFile = directory.appendingPathComponent("cases.json")
        let scriptFile = directory.appendingPathComponent("sign.py")
        try JSONEncoder().encode(cases).write(to: casesFile)
        try Data(script.utf8).write(to: scriptFile)
        let output = try ChildProcess.run(["python3", scriptFile.path, casesFile.path])
        try #require(output.status == 0, Comment(rawValue: output.stderr))
        return try JSONDecoder().decode([BotocoreResult].self, from: Data(output.stdout.utf8))
    }

    /// Signs each case with botocore's own signers; add_auth reads the clock through
    /// `botocore.auth.get_current_datetime`, so that is pinned to the case's timestamp too.
    static let script = #"""
        import datetime, json, sys, types
        import botocore.auth
        from botocore.auth import SigV4Auth, S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        results = []
        for case in json.load(open(sys.argv[1])):
            timestamp = case["timestamp"]
            fixed = datetime.datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ")
            botocore.auth.get_current_datetime = lambda remove_tzinfo=True, fixed=fixed: fixed
            credentials = Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
            s3 = case["service"] == "s3"

            request = AWSRequest(method=case["method"], url=case["url"], headers=dict(case["headers"]),
                                 data=bytes.fromhex(case["bodyHex"]))
            request.context["timestamp"] = timestamp
            if case["unsignedPayload"]:
                request.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})
            (S3SigV4Auth if s3 else SigV4Auth)(credentials, case["service"], case["region"]).add_auth(request)

            presign = AWSRequest(method=case["method"], url=case["url"], headers=dict(case["presignHeaders"]))
            presign.context["timestamp"] = timestamp
            signer = S3SigV4QueryAuth if s3 else SigV4QueryAuth
            signer(credentials, case["service"], case["region"], expires=case["expires"]).add_auth(presign)

            results.append({"headers": dict(request.headers.items()), "presignedURL": presign.url})
        json.dump(results, sys.stdout)
        """#
}

/// What botocore produced for one case.
struct BotocoreResult: Decodable {
    var headers: [String: String]
    var presignedURL: String
}

/// One random request, in the form both signers are given.
struct RandomCase: Codable {
    var service: String
    var region: String
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
    var timestamp: String
    var seconds: Int
    var method: String
    var url: String
    var headers: [[String]]
    var presignHeaders: [[String]]
    var bodyHex: String
    var unsignedPayload: Bool
    var expires: Int

    var date: Date { Date(timeIntervalSince1970: Double(seconds)) }

    func signer() -> SigV4Signer {
        let credentials = AWSCredentials(
            accessKeyID: accessKeyID, secretAccessKey: Redacted(secretAccessKey), sessionToken: sessionToken.map(Redacted.init))
        return SigV4Signer(credentials: credentials, region: region, service: service)
    }

    func request() throws -> SignableRequest {
        let body = stride(from: 0, to: bodyHex.count, by: 2).map { offset in
            let start = bodyHex.index(bodyHex.startIndex, offsetBy: offset)
            return UInt8(bodyHex[start..<bodyHex.index(start, offsetBy: 2)], radix: 16)!
        }
        return SignableRequest(
            method: method, url: try RequestURL(parsing: url), headers: headers.map { HeaderField($0[0], $0[1]) },
            payload: unsignedPayload ? .unsigned : .bytes(body))
    }
}

extension RandomCase {
    static let keyCharacters = Array("abcXYZ019-_.~ !$&'()*+,;=:@%/ሴé😀")
    static let segments = ["a", "b-c", ".", "..", "", "x y", "ሴ", "p:q", "~t", "%41"]
    static let headerNames = ["Content-Type", "If-None-Match", "Range", "X-Amz-Meta-Owner", "X-Custom-Header", "x-amz-storage-class"]
    static let headerValues = ["text/plain", "  spaced   out  ", "\tTabbed\tvalue", "*", "bytes=0-9", "a,b", "\"quoted  x\""]
    static let hosts = [
        ("https", "examplebucket.s3.amazonaws.com"), ("https", "ec2.eu-west-1.amazonaws.com"), ("http", "127.0.0.1:9000"),
        ("https", "LocalHost:4566"),
    ]

    static func make(using generator: inout SplitMix64) -> RandomCase {
        let service = ["s3", "s3", "ec2", "service"].randomElement(using: &generator)!
        let (scheme, host) = hosts.randomElement(using: &generator)!
        let seconds = Int.random(in: 0...4_102_444_800, using: &generator)
        let s3 = service == "s3"
        let path = s3 ? "/" + URIEncoding.encode(text(using: &generator), keepingSlashes: true) : randomPath(using: &generator)
        let query = randomQuery(using: &generator)
        return RandomCase(
            service: service, region: ["us-east-1", "eu-west-1", "ap-southeast-2"].randomElement(using: &generator)!,
            accessKeyID: "AKID" + text(using: &generator, from: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
            secretAccessKey: text(using: &generator, from: Array("abcdefABCDEF0123456789+/")),
            sessionToken: Bool.random(using: &generator) ? text(using: &generator, from: Array("abcXYZ019+/=")) : nil,
            timestamp: AMZDate(Date(timeIntervalSince1970: Double(seconds))).stamp, seconds: seconds,
            method: ["GET", "PUT", "POST", "HEAD", "DELETE"].randomElement(using: &generator)!,
            url: "\(scheme)://\(host)\(path)\(query)", headers: randomHeaders(using: &generator),
            presignHeaders: randomHeaders(using: &generator),
            bodyHex: (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                String(format: "%02x", UInt8.random(in: 0...255, using: &generator))
            }.joined(),
            unsignedPayload: s3 && Bool.random(using: &generator), expires: Int.random(in: 1...604_800, using: &generator))
    }

    static func text(using generator: inout SplitMix64, from characters: [Character] = keyCharacters) -> String {
        String((0..<Int.random(in: 1...12, using: &generator)).map { _ in characters.randomElement(using: &generator)! })
    }

    /// Segments, dot segments and empty ones, each percent-encoded as a client would send it.
    static func randomPath(using generator: inout SplitMix64) -> String {
        let count = Int.random(in: 0...5, using: &generator)
        let parts = (0..<count).map { _ in segments.randomElement(using: &generator)! }.map { segment in
            segment == "." || segment == ".." ? segment : URIEncoding.encode(segment)
        }
        return "/" + parts.joined(separator: "/") + (Bool.random(using: &generator) ? "/" : "")
    }

    /// Unique names (botocore's presigner keeps one value a name), some without a value.
    static func randomQuery(using generator: inout SplitMix64) -> String {
        var names = Set<String>()
        for _ in 0..<Int.random(in: 0...4, using: &generator) { names.insert(text(using: &generator)) }
        guard !names.isEmpty else { return "" }
        let items = names.sorted().map { name in
            QueryItem(name: name, value: Bool.random(using: &generator) ? text(using: &generator) : nil)
        }
        return "?"
            + items.map { item in
                URIEncoding.encode(item.name) + (item.value.map { "=" + URIEncoding.encode($0) } ?? "")
            }.joined(separator: "&")
    }

    static func randomHeaders(using generator: inout SplitMix64) -> [[String]] {
        headerNames.filter { _ in Bool.random(using: &generator) }.map { [$0, headerValues.randomElement(using: &generator)!] }
    }
}

/// A small seeded generator, so a failing case can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
