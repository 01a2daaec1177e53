import AWSSigning
import HTTPClient
import ObjectStore
import SnapfleetCore
import Synchronization
import Testing

/// A transport that answers from a script and records what it was asked.
final class ScriptedTransport: HTTPTransport {
    enum Step: Sendable {
        case reply(Int, String)
        case fail(SnapfleetError)
    }

    private let state: Mutex<(steps: [Step], requests: [HTTPRequest])>

    init(_ steps: [Step]) { state = Mutex((steps, [])) }

    var requests: [HTTPRequest] { state.withLock { $0.requests } }

    func perform(_ request: HTTPRequest) throws(SnapfleetError) -> HTTPResponse {
        let step = state.withLock { state -> Step in
            state.requests.append(request)
            return state.steps.isEmpty ? .reply(200, "") : state.steps.removeFirst()
        }
        switch step {
        case .reply(let status, let body): return HTTPResponse(status: status, headers: [:], body: Array(body.utf8))
        case .fail(let error): throw error
        }
    }
}

/// Records the waits a policy asks for instead of sleeping.
final class SleepRecorder: Sendable {
    private let waits = Mutex<[Duration]>([])
    var delays: [Duration] { waits.withLock { $0 } }
    func record(_ delay: Duration) { waits.withLock { $0.append(delay) } }
}

@Suite("RetryPolicy: backoff and which S3 failures are retried")
struct RetryPolicyTests {
    let slowDown = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    let denied = """
        <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message>\
        <StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign><SignatureProvided>abcdef0123</SignatureProvided></Error>
        """

    /// A store on a fake endpoint whose sleeps are recorded instead of slept.
    func store(_ transport: ScriptedTransport, sleeps: SleepRecorder = SleepRecorder(), attempts: Int = 5) throws -> S3ObjectStore {
        let retry = RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(100)) { delay in sleeps.record(delay) }
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Redacted("not-so-secret"))
        return try S3ObjectStore(
            bucket: "b", region: "us-east-1", endpoint: "http://127.0.0.1:9", credentials: credentials,
            options: .init(retry: retry), transport: transport)
    }

    @Test("delays double from the base up to the maximum, jittered into the upper half")
    func delays() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delay(afterAttempt: 1, random: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 1, random: 0) == .milliseconds(50))
        #expect(policy.delay(afterAttempt: 3, random: 1) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 10, random: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 64, random: 0) == .milliseconds(500))
        for attempt in 1...6 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay >= .milliseconds(50) && delay <= .seconds(1))
        }
    }

    @Test("503 SlowDown twice, then success: three attempts and two growing waits")
    func retriesThrottling() throws {
        let transport = ScriptedTransport([.reply(503, slowDown), .reply(503, slowDown), .reply(200, "payload")])
        let sleeps = SleepRecorder()
        #expect(try store(transport, sleeps: sleeps).get("k") == Array("payload".utf8))
        #expect(transport.requests.count == 3)
        let waits = sleeps.delays
        #expect(waits.count == 2)
        #expect(waits[0] >= .milliseconds(50) && waits[0] <= .milliseconds(100))
        #expect(waits[1] >= .milliseconds(100) && waits[1] <= .milliseconds(200))
        // Each attempt is signed afresh (a replayed old signature could expire).
        #expect(transport.requests.allSatisfy { $0.headers["Authorization"] != nil })
    }

    @Test("429 and a connection error are retried")
    func retriesTooManyAndConnection() throws {
        let reset = SnapfleetError(.httpError, "http get http://127.0.0.1:9/b/k failed: connection reset", retryable: true)
        let transport = ScriptedTransport([.reply(429, ""), .fail(reset), .reply(200, "ok")])
        #expect(try store(transport).get("k") == Array("ok".utf8))
        #expect(transport.requests.count == 3)
    }

    @Test("a 403 is not retried, and the error names the object and code but no signature")
    func noRetryOn4xx() throws {
        let transport = ScriptedTransport([.reply(403, denied), .reply(200, "")])
        do {
            _ = try store(transport).get("base/x")
            Issue.record("the get succeeded")
        } catch let error as SnapfleetError {
            #expect(transport.requests.count == 1)
            #expect(error.code == .httpError)
            #expect(!error.retryable)
            #expect(error.message.contains("s3 get s3://b/base/x failed: SignatureDoesNotMatch (http 403)"))
            #expect(!error.description.contains("abcdef0123"))
            #expect(!error.description.contains("AWS4-HMAC-SHA256"))
            #expect(!error.description.contains("not-so-secret"))
        }
    }

    @Test("when attempts run out the last error is thrown, marked retryable")
    func exhausted() throws {
        let transport = ScriptedTransport(Array(repeating: .reply(500, "<Error><Code>InternalError</Code></Error>"), count: 9))
        do {
            try store(transport, attempts: 3).put("k", body: .bytes([1]))
            Issue.record("the put succeeded")
        } catch let error as SnapfleetError {
            #expect(transport.requests.count == 3)
            #expect(error.retryable)
            #expect(error.message.contains("InternalError (http 500)"))
        }
    }

    @Test("a local error (not a transfer failure) is not retried")
    func localErrorNotRetried() throws {
        let local = SnapfleetError(.ioError, "cannot open file", retryable: false)
        let transport = ScriptedTransport([.fail(local), .reply(200, "")])
        #expect(throws: SnapfleetError.self) { try store(transport).delete("k") }
        #expect(transport.requests.count == 1)
    }
}
