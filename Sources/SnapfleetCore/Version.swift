/// snapfleet's release version, reported by both programs and in every hello.
public let snapfleetVersion = "0.1.0"
