import SnapfleetCore

/// The state of one `perform` call that curl's callbacks reach through an `Unmanaged`
/// pointer: the body being sent, the headers and body being received, the first failure.
final class Transfer {
    /// The request body, if any.
    let source: (any RequestBodySource)?
    /// The first error a callback hit; curl only learns that the callback aborted.
    private(set) var failure: SnapfleetError?
    private var parser = ResponseHeaderParser()
    private let memory: MemoryBodySink
    private let file: FileBodySink?
    /// Takes a successful response's body piece by piece, if the caller streams it.
    private let consumer: ((UnsafeRawBufferPointer) throws -> Void)?
    /// Whether the current body goes to `file` or `consumer` (decided at its first byte).
    private var writingSink: Bool?

    /// Prepares a transfer for `request`, opening a file body now so that a missing file is
    /// reported before anything is sent; `consumer`, if given, takes a 2xx body instead of memory.
    init(request: HTTPRequest, consumer: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws {
        source = try Self.source(for: request.body)
        memory = MemoryBodySink(limit: request.maxResponseBytes)
        if case .file(let path) = request.responseBody { file = FileBodySink(path: path) } else { file = nil }
        self.consumer = consumer
    }

    private static func source(for body: HTTPRequest.Body) throws -> (any RequestBodySource)? {
        switch body {
        case .empty: nil
        case .bytes(let bytes): MemoryBodySource(bytes: bytes)
        case .data(let data): MemoryBodySource(data: data)
        case .file(let path): try FileBodySource(path: path)
        }
    }

    /// Header callback: one raw header line.
    func receiveHeader(_ line: UnsafeRawBufferPointer) {
        parser.consume(String(decoding: line, as: UTF8.self))
    }

    /// Write callback: body bytes; false (after recording why) aborts the transfer.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        record {
            // Only a successful response's body belongs in the caller's file or consumer; an
            // error document stays in memory for the caller to read.
            let toSink = writingSink ?? ((file != nil || consumer != nil) && (200..<300).contains(parser.status))
            writingSink = toSink
            if toSink, let consumer {
                try consumer(bytes)
            } else if toSink, let file {
                try file.write(bytes)
            } else {
                try memory.write(bytes)
            }
        }
    }

    /// Read callback: fills `buffer` with request body bytes; nil (after recording why) aborts.
    func sendBody(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let source else { return 0 }
        var count: Int?
        _ = record { count = try source.read(into: buffer) }
        return count
    }

    /// Seek callback: rewinds the request body for a resend; false (after recording why) fails.
    func rewindBody(to offset: Int64) -> Bool {
        guard let source else { return offset == 0 }
        return record { try source.rewind(to: offset) }
    }

    /// The response after curl finished with `status`, closing (or creating) the body file.
    func response(status: Int) throws -> HTTPResponse {
        let toFile = file != nil && (200..<300).contains(status)
        if toFile { try file?.finish() }
        return HTTPResponse(status: status, headers: parser.headers, body: memory.bytes, bodyWrittenToFile: toFile)
    }

    /// Removes a partly written body file after a failure.
    func abandon() { file?.discard() }

    /// Runs `work`, keeping its first error; returns whether it succeeded.
    private func record(_ work: () throws -> Void) -> Bool {
        do {
            try work()
            return true
        } catch {
            if failure == nil {
                failure = error as? SnapfleetError ?? SnapfleetError(.internalError, "\(error)")
            }
            return false
        }
    }
}
