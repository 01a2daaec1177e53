import CloudSnapshots
import Synchronization
import Testing

@Suite("CloudAPIGate and TokenBucket: a bounded call rate per provider, counted calls, throttling slows everyone")
struct CloudAPIGateTests {
    @Test("a bucket gives its burst at once, then one token per 1/rate seconds")
    func bucket() {
        var bucket = TokenBucket(rate: 4, capacity: 2, now: 100)
        #expect(bucket.take(now: 100) == 0)
        #expect(bucket.take(now: 100) == 0)
        #expect(bucket.take(now: 100) == 0.25, "empty: a token in 1/4 s")
        #expect(bucket.take(now: 100.25) == 0)
        #expect(bucket.take(now: 110) == 0, "refilled, but never past its capacity")
        #expect(bucket.take(now: 110) == 0)
        #expect(bucket.take(now: 110) > 0)
    }

    @Test("a throttling answer empties the bucket: the next call waits a full token's time")
    func drain() {
        var bucket = TokenBucket(rate: 2, capacity: 10, now: 0)
        bucket.drain(now: 0)
        #expect(bucket.take(now: 0) == 0.5)
    }

    @Test("the gate counts calls and errors by provider and action, and waits when a limited provider's bucket is empty")
    func gate() {
        let time = Mutex(0.0)
        let gate = CloudAPIGate { time.withLock { $0 } }
        gate.limit("aws", perSecond: 1000, burst: 2)
        gate.admit("aws")
        gate.admit("aws")
        let clock = ContinuousClock()
        let waited = clock.measure {
            time.withLock { $0 = 0.001 }  // one token's worth passes while the third call waits
            gate.admit("aws")
        }
        #expect(waited < .seconds(1))
        gate.record("aws", action: "CreateSnapshot", error: nil)
        gate.record("aws", action: "CreateSnapshot", error: "RequestLimitExceeded", throttled: true)
        gate.record("aws", action: "DescribeSnapshots", error: nil)
        gate.admit("gcp")  // no limit: never waits
        #expect(
            gate.counts == [
                .init(provider: "aws", action: "CreateSnapshot", calls: 2, errors: ["RequestLimitExceeded": 1]),
                .init(provider: "aws", action: "DescribeSnapshots", calls: 1, errors: [:]),
            ])
    }
}
