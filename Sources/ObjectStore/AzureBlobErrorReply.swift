import CloudXML
import HTTPClient

/// A Blob service error (`<Error><Code>…</Code><Message>…</Message></Error>`, and the
/// `x-ms-error-code` header, which HEAD answers carry without a body), reduced to what is safe and
/// short to show: the message's first line (not its RequestId and Time lines) and no
/// `AuthenticationErrorDetail`, which quotes the string to sign.
struct AzureBlobErrorReply: Sendable, Equatable {
    /// The HTTP status.
    var status: Int
    /// The service's code (`BlobNotFound`, `BlobAlreadyExists`, `AuthenticationFailed`) or `HTTP<status>`.
    var code: String
    /// The message's first line, at most 200 characters; may be empty.
    var message: String

    /// Reads the error of `response`.
    init(_ response: HTTPResponse) {
        status = response.status
        let tree = try? XMLTree.parse(response.body)
        let document = tree?.name == "Error" ? tree : nil
        code = document?.value("Code").flatMap { $0.isEmpty ? nil : $0 } ?? response.headers["x-ms-error-code"] ?? "HTTP\(response.status)"
        let text = document?.value("Message") ?? ""
        message = String(text.prefix { !$0.isNewline && $0.asciiValue.map { $0 >= 0x20 } != false }.prefix(200))
    }

    /// 408, 429 and 5xx (`ServerBusy`, `InternalError`, `OperationTimedOut`): the statuses the
    /// storage SDKs retry.
    var isRetryable: Bool { AzureBlobObjectStore.isRetryable(status) }

    /// `BlobNotFound (http 404): The specified blob does not exist.`
    var summary: String { message.isEmpty ? "\(code) (http \(status))" : "\(code) (http \(status)): \(message)" }
}
