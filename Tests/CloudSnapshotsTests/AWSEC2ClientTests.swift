import AWSSigning
import CloudXML
import SnapfleetCore
import Testing

@testable import CloudSnapshots

/// EC2 request encoding and response parsing, on fixed documents.
@Suite("EC2Client encoding and parsing")
struct AWSEC2ClientTests {
    @Test("the form body starts with Action and Version and encodes values the SigV4 way")
    func formBody() {
        let body = EC2Client.formBody(action: "DescribeInstances", [("Filter.1.Name", "tag:Name"), ("Filter.1.Value.1", "pg data/1")])
        #expect(body == "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=pg%20data%2F1")
    }

    @Test("filters and lists are numbered from 1")
    func filters() {
        let parameters = EC2Client.filters([EC2Filter("tag:Name", ["a"]), EC2Filter("instance-state-name", ["running", "stopped"])])
        #expect(
            parameters.map { "\($0.0)=\($0.1)" } == [
                "Filter.1.Name=tag:Name", "Filter.1.Value.1=a",
                "Filter.2.Name=instance-state-name", "Filter.2.Value.1=running", "Filter.2.Value.2=stopped",
            ])
    }

    @Test("LockSnapshot sends only the options given")
    func lockParameters() {
        let all = EC2Client.lockParameters(id: "snap-1", mode: .compliance, 7, 24, nil)
        #expect(all.map { "\($0.0)=\($0.1)" } == ["SnapshotId=snap-1", "LockMode=compliance", "LockDuration=7", "CoolOffPeriod=24"])
        let bare = EC2Client.lockParameters(id: "snap-1", mode: .governance, nil, nil, nil)
        #expect(bare.map(\.0) == ["SnapshotId", "LockMode"])
    }

    @Test("a LockSnapshot response is read")
    func lockResponse() throws {
        let xml = try XMLTree.parse(
            Array(
                """
                <LockSnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
                    <requestId>f7de5e98-491a-4c19-a92d-908d6EXAMPLE</requestId>
                    <snapshotId>snap-0b5e733b4a8df6e0d</snapshotId>
                    <lockState>compliance-cooloff</lockState>
                    <lockDuration>7</lockDuration>
                    <coolOffPeriod>24</coolOffPeriod>
                    <coolOffPeriodExpiresOn>2024-05-05T01:02:20.527Z</coolOffPeriodExpiresOn>
                    <lockCreatedOn>2024-05-04T01:02:20.527Z</lockCreatedOn>
                    <lockExpiresOn>2024-05-11T01:02:20.527Z</lockExpiresOn>
                    <lockDurationStartTime>2024-05-04T01:02:20.527Z</lockDurationStartTime>
                </LockSnapshotResponse>
                """.utf8))
        let lock = EC2SnapshotLock(xml: xml)
        #expect(lock == EC2SnapshotLock(xml: xml))
        #expect(lock.snapshotID == "snap-0b5e733b4a8df6e0d")
        #expect(lock.lockState == "compliance-cooloff")
        #expect(lock.durationDays == 7 && lock.coolOffHours == 24)
        #expect(lock.expiresOn == "2024-05-11T01:02:20.527Z")
    }

    @Test("an error document names the action and the code; AuthFailure is not retryable, throttling and 5xx are")
    func errors() {
        let auth = EC2Client.apiError(
            action: "DescribeInstances", status: 401, body: Self.errorDocument("AuthFailure", "AWS was not able to validate"))
        #expect(auth.code == .notAuthorized && !auth.retryable)
        #expect(auth.message == "ec2 DescribeInstances failed with AuthFailure (http 401): AWS was not able to validate")

        let throttled = EC2Client.apiError(action: "CreateSnapshot", status: 503, body: Self.errorDocument("RequestLimitExceeded", "slow down"))
        #expect(throttled.retryable)
        let missing = EC2Client.apiError(action: "DeleteSnapshot", status: 400, body: Self.errorDocument("InvalidSnapshot.NotFound", ""))
        #expect(missing.code == .notFound && !missing.retryable)
        #expect(missing.message == "ec2 DeleteSnapshot failed with InvalidSnapshot.NotFound (http 400)")
        let opaque = EC2Client.apiError(action: "LockSnapshot", status: 500, body: Array("<html>oops</html>".utf8))
        #expect(opaque.message == "ec2 LockSnapshot failed with HTTP500 (http 500)" && opaque.retryable)
    }

    @Test("snapshot states map onto SnapshotState, with progress and failure")
    func snapshotStates() throws {
        let pending = EC2Snapshot(xml: try Self.snapshot(status: "pending", progress: "40%"))
        #expect(AWSSnapshotProvider.info(pending, name: "n").state == .pending)
        #expect(AWSSnapshotProvider.info(pending, name: "n").progressPercent == 40)
        let failed = AWSSnapshotProvider.info(EC2Snapshot(xml: try Self.snapshot(status: "error", progress: "")), name: "n")
        #expect(failed.state == .error && failed.failure == "snapshot in error state")
        #expect(AWSSnapshotProvider.info(EC2Snapshot(xml: try Self.snapshot(status: "completed", progress: "100%")), name: "n").state == .completed)
    }

    @Test("several reservations or instances are ambiguous; none is not found")
    func single() throws {
        let one = try Self.reservation(instances: ["i-1"])
        #expect(try AWSSnapshotProvider.single([one], matching: "x").id == "i-1")
        #expect(throws: SnapfleetError(.notFound, "Cannot find instance x")) { try AWSSnapshotProvider.single([], matching: "x") }
        #expect(throws: SnapfleetError(.invalidConfiguration, "Cannot find a unique EC2 instance matching x")) {
            try AWSSnapshotProvider.single([try Self.reservation(instances: ["i-1", "i-2"])], matching: "x")
        }
    }

    static func errorDocument(_ code: String, _ message: String) -> [UInt8] {
        Array(
            "<?xml version=\"1.0\"?><Response><Errors><Error><Code>\(code)</Code><Message>\(message)</Message></Error></Errors><RequestID>r</RequestID></Response>"
                .utf8)
    }

    static func snapshot(status: String, progress: String) throws -> XMLTree {
        try XMLTree.parse(
            Array(
                "<CreateSnapshotResponse><snapshotId>snap-1</snapshotId><volumeId>vol-1</volumeId><status>\(status)</status><progress>\(progress)</progress></CreateSnapshotResponse>"
                    .utf8))
    }

    static func reservation(instances: [String]) throws -> EC2Reservation {
        let items = instances.map { "<item><instanceId>\($0)</instanceId><instanceState><name>running</name></instanceState></item>" }.joined()
        return EC2Reservation(
            xml: try XMLTree.parse(
                Array("<item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet>\(items)</instancesSet></item>".utf8)))
    }
}
