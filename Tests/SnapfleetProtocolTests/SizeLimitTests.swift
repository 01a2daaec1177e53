import SnapfleetCore
import SnapfleetProtocol
import Testing

@Suite("Size limits")
struct SizeLimitTests {
    /// A valid heartbeat padded with trailing whitespace (legal JSON) to exactly `size` bytes.
    func paddedHeartbeat(size: Int) -> [UInt8] {
        let frame = Array(#"{"protocol":1,"id":"big-1","type":"heartbeat","body":{}}"#.utf8)
        return frame + Array(repeating: UInt8(ascii: " "), count: size - frame.count)
    }

    @Test("a frame of exactly 256 KiB is read normally")
    func atTheLimit() throws {
        let envelope = try WireCodec.decode(paddedHeartbeat(size: ProtocolLimits.maxEnvelopeBytes))
        #expect(envelope.message == .heartbeat)
    }

    @Test("a frame one byte over 256 KiB is refused with message_too_large, before it is parsed")
    func overTheLimit() throws {
        let refused = try #require(refusal(paddedHeartbeat(size: ProtocolLimits.maxEnvelopeBytes + 1)))
        #expect(refused.error.code == .messageTooLarge)
        #expect(refused.error.message == "message of 262145 bytes exceeds the limit of 262144")
        #expect(refused.requestID == nil)
    }

    @Test("a large frame that is not even JSON is refused for its size")
    func oversizedGarbage() throws {
        let refused = try #require(refusal([UInt8](repeating: 0xFF, count: 1 << 20)))
        #expect(refused.error.code == .messageTooLarge)
    }

    @Test("a backup_stopped with the largest label files fits in one envelope")
    func largestStopResultFits() throws {
        let start = BackupStartPoint(
            lsn: "0/2000028", walFile: "000000010000000000000002", timeline: 1, time: "2025-11-25T21:30:00Z")
        let label = String(repeating: "x", count: ProtocolLimits.maxLabelFileLength)
        let stopped = Envelope.reply(
            to: try MessageID("stop-1"),
            .backupStopped(
                BackupStopped(
                    backupID: "20251125T213000", start: start, stopLSN: "0/2000138", stopWALFile: "000000010000000000000002",
                    stopTime: "2025-11-25T21:30:41Z", backupLabel: label, tablespaceMap: label)))
        let frame = WireCodec.encode(stopped)
        #expect(frame.count <= ProtocolLimits.maxEnvelopeBytes)
        #expect(try WireCodec.decode(frame) == stopped)
    }

    @Test("a backup_label over 64 KiB is refused with invalid_body")
    func labelFileTooLong() throws {
        let start = BackupStartPoint(
            lsn: "0/2000028", walFile: "000000010000000000000002", timeline: 1, time: "2025-11-25T21:30:00Z")
        let stopped = Envelope.reply(
            to: try MessageID("stop-1"),
            .backupStopped(
                BackupStopped(
                    backupID: "20251125T213000", start: start, stopLSN: "0/2000138", stopWALFile: "000000010000000000000002",
                    stopTime: "2025-11-25T21:30:41Z",
                    backupLabel: String(repeating: "x", count: ProtocolLimits.maxLabelFileLength + 1),
                    tablespaceMap: "")))
        let refused = try #require(refusal(WireCodec.encode(stopped)))
        #expect(refused.error.code == .invalidBody)
        #expect(refused.error.message == "backup_label and tablespace_map must be at most 64 KiB")
        #expect(refused.requestID == stopped.id)
    }

    @Test("the limits are the documented ones")
    func limits() {
        #expect(ProtocolLimits.version == 1)
        #expect(ProtocolLimits.maxEnvelopeBytes == 262_144)
        #expect(ProtocolLimits.maxFrameBytes == 67_108_864)
        #expect(ProtocolLimits.maxFrames == 16)
        #expect(ProtocolLimits.maxMessageIDLength == 64)
        #expect(ProtocolLimits.maxTextLength == 4096)
        #expect(ProtocolLimits.maxLabelFileLength == 65_536)
    }
}
