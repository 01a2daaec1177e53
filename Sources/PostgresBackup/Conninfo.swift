import CPostgres
import SnapfleetCore

/// What snapfleet needs to know about a conninfo string before connecting with it.
enum Conninfo {
    /// A scrubber that knows the conninfo's password; throws `.invalidConfiguration` if libpq cannot parse it.
    ///
    /// libpq's parse error quotes the offending part of the string, which may be the password,
    /// so it is not passed on.
    static func scrubber(for conninfo: Redacted<String>) throws -> SecretScrubber {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo.value, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            throw SnapfleetError(
                .invalidConfiguration, "the postgresql conninfo cannot be parsed",
                hint: "use key=value pairs or a postgresql:// URI")
        }
        defer { PQconninfoFree(options) }
        var secrets: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val {
                secrets.append(String(cString: value))
            }
            option += 1
        }
        return SecretScrubber(secrets: secrets)
    }
}
