import AWSSigning
import SnapfleetCore

/// Where a bucket's requests go: path-style on a custom endpoint, virtual-hosted on AWS.
struct S3Addressing: Sendable {
    /// Scheme, host and port of every request.
    let base: RequestURL
    /// The bucket, as the first path segment (path-style) or nil (virtual-hosted: it is in the host).
    let pathBucket: String?

    /// `endpoint` given (`http://127.0.0.1:5000`): path-style; nil: `https://BUCKET.s3.REGION.amazonaws.com`.
    init(bucket: String, region: String, endpoint: String?) throws(SnapfleetError) {
        guard let endpoint else {
            base = RequestURL(scheme: "https", host: "\(bucket).s3.\(region).amazonaws.com")
            pathBucket = nil
            return
        }
        let parsed = try RequestURL(parsing: endpoint)
        guard parsed.path == "/", parsed.queryItems.isEmpty else {
            throw SnapfleetError(.invalidConfiguration, "s3 endpoint '\(parsed.origin)' must not have a path or query")
        }
        base = parsed
        pathBucket = bucket
    }

    /// The URL of `key` (or of the bucket itself for nil) with `query`.
    func url(key: String?, query: [QueryItem] = []) -> RequestURL {
        var path = pathBucket.map { "/" + URIEncoding.encode($0) } ?? ""
        if let key { path += "/" + URIEncoding.encode(key, keepingSlashes: true) }
        if path.isEmpty { path = "/" }
        return RequestURL(scheme: base.scheme, host: base.host, port: base.port, path: path, queryItems: query)
    }
}
