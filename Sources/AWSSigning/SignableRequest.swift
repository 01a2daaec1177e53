/// What SigV4 signs of an HTTP request: method, URL, the headers to sign and the payload.
public struct SignableRequest: Sendable, Hashable {
    /// The HTTP method (`GET`, `PUT`, …); uppercased when signed.
    public var method: String
    /// The URL, with its path as sent.
    public var url: RequestURL
    /// Headers to sign, in order; repeated names are joined with commas. `Host` is taken from
    /// the URL unless given; the signer supplies `X-Amz-Date` and friends itself.
    public var headers: [HeaderField]
    /// The body or its hash.
    public var payload: RequestPayload

    /// Creates a request to sign.
    public init(method: String, url: RequestURL, headers: [HeaderField] = [], payload: RequestPayload = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.payload = payload
    }
}
