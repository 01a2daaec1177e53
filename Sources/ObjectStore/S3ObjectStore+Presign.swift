import AWSSigning
import Foundation
import SnapfleetCore

extension S3ObjectStore: PresigningObjectStore {
    /// `If-None-Match: *`: S3 refuses the PUT (412) when the key exists.
    public var createOnlyHeaders: [(String, String)] { [("if-none-match", "*")] }

    /// A URL that lets its holder do `method` on `key` of this bucket, and nothing else, for
    /// `expires` seconds from `date`; `headers` are signed and must be sent as given.
    ///
    /// With `If-None-Match: *` among the headers, a PUT URL can create its object but never
    /// replace one: the capability the controller hands an agent for each WAL file.
    public func presignedURL(
        key: String, method: String, headers: [(String, String)] = [], expires: Int, date: Date = Date()
    ) throws(SnapfleetError) -> String {
        try ObjectKey.validate(key)
        return try signer.presignedURL(
            method: method, url: addressing.url(key: key), headers: headers.map { HeaderField($0.0, $0.1) }, expires: expires, date: date)
    }
}
