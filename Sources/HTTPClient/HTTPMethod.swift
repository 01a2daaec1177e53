/// The HTTP methods snapfleet's object-store clients use.
public enum HTTPMethod: String, Sendable, CaseIterable {
    /// Reads an object or a listing.
    case get = "GET"
    /// Writes an object.
    case put = "PUT"
    /// Starts or completes multipart uploads, deletes in bulk.
    case post = "POST"
    /// Reads an object's metadata only.
    case head = "HEAD"
    /// Removes an object.
    case delete = "DELETE"
    /// Changes part of a resource (Azure Resource Manager's VM update).
    case patch = "PATCH"
}
